"""RAG_API_KEY for everything that reads or writes the corpus: the API, the page and its API.

The API takes the key as a bearer token. A browser cannot send one, so the page asks for the
key once (/login) and gets a session cookie derived from it (HttpOnly, SameSite=Strict, so
another site cannot ride on it). Gradio's own routes (/gradio_api/*, which a gradio_client
could call directly) need that cookie or the bearer token like every other route; only the
health checks and the login form are open.
"""

import asyncio
import hashlib
import hmac
import html
import json
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from starlette.types import Receive, Scope, Send

from rag.core.settings import Settings

COOKIE = "citerag_session"
LOGIN_PATHS = {"/login", "/logout"}
OPEN_PATHS = {"/healthz", "/readyz"} | LOGIN_PATHS
_SESSION_SECONDS = 12 * 3600
_FAILED_LOGIN_DELAY = 1.0  # seconds: guessing the key by trial gets slow


class PageAuth:
    """Decides whether a request may pass, and answers the ones that may not."""

    def __init__(self, settings: Settings):
        self.key = settings.api_key or ""
        self.session = (
            hmac.new(self.key.encode(), b"citerag page session", hashlib.sha256).hexdigest()
            if self.key
            else ""
        )

    def allows(self, scope: Scope) -> bool:
        """No key configured, an open path, the bearer token, or (off /v1/) the page's cookie."""
        path = scope.get("path", "")
        if not self.key or path in OPEN_PATHS:
            return True
        headers = dict(scope.get("headers", []))
        if _equal(_bearer(headers.get(b"authorization", b"")), self.key):
            return True
        if path.startswith("/v1/"):
            return False  # the API takes the bearer token only
        return _equal(_cookie(headers.get(b"cookie", b"")), self.session)

    async def refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The login form for a browser; otherwise a 401, like the API's."""
        headers = dict(scope.get("headers", []))
        if scope["method"] == "GET" and b"text/html" in headers.get(b"accept", b""):
            return await _respond(send, 303, b"", [(b"location", b"/login")])
        body = json.dumps({"detail": "missing or wrong bearer token"}).encode()
        extra = [(b"www-authenticate", b"Bearer"), (b"content-type", b"application/json")]
        await _respond(send, 401, body, extra)

    async def login(self, scope: Scope, receive: Receive, send: Send) -> None:
        """GET: the form. POST key=...: the session cookie and back to the page, or the form."""
        path = scope.get("path", "")
        if not self.key:  # nothing to sign in to
            return await _respond(send, 303, b"", [(b"location", b"/")])
        if path == "/logout":
            clear = f"{COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict".encode()
            return await _respond(
                send, 303, b"", [(b"location", b"/login"), (b"set-cookie", clear)]
            )
        if scope["method"] != "POST":
            return await _respond(send, 200, _form(""), [_HTML])
        body = await _small_body(receive, 4096)
        given = parse_qs(body.decode("utf-8", "replace")).get("key", [""])[0]
        if self.key and _equal(given, self.key):
            cookie = (
                f"{COOKIE}={self.session}; Path=/; Max-Age={_SESSION_SECONDS}; "
                "HttpOnly; SameSite=Strict"
            ).encode()
            return await _respond(send, 303, b"", [(b"location", b"/"), (b"set-cookie", cookie)])
        await asyncio.sleep(_FAILED_LOGIN_DELAY)
        await _respond(send, 401, _form("That key is not right."), [_HTML])


_HTML = (b"content-type", b"text/html; charset=utf-8")


def _equal(given: str, expected: str) -> bool:
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def _bearer(header: bytes) -> str:
    scheme, _, token = header.decode("latin-1").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _cookie(header: bytes) -> str:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header.decode("latin-1"))
    except Exception:  # a malformed Cookie header is no session
        return ""
    return jar[COOKIE].value if COOKIE in jar else ""


async def _small_body(receive: Receive, limit: int) -> bytes:
    parts, size = [], 0
    while True:
        message = await asyncio.wait_for(receive(), 10)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return b""
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts)


async def _respond(send: Send, status: int, body: bytes, headers: list) -> None:
    raw = [(b"content-length", str(len(body)).encode()), (b"cache-control", b"no-store"), *headers]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def _form(message: str) -> bytes:
    note = f'<p class="note">{html.escape(message)}</p>' if message else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>citerag: sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;max-width:26rem;margin:10vh auto;padding:0 1rem}}
input{{width:100%;padding:.5rem;margin:.5rem 0;box-sizing:border-box}}
button{{padding:.5rem 1rem}} .note{{color:#a00}}</style></head>
<body><h1>citerag</h1><p>This server needs its API key (RAG_API_KEY).</p>{note}
<form method="post" action="/login"><label for="key">Key</label>
<input id="key" name="key" type="password" autocomplete="current-password" autofocus>
<button type="submit">Open</button></form></body></html>""".encode()
