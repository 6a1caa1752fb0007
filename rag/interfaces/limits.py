"""The gate in front of the app, as plain ASGI middleware (used by rag.interfaces.api): the key,
request sizes, slow clients, load shedding and abandoned requests.

Plain ASGI rather than Starlette's BaseHTTPMiddleware, so streamed answers stay streamed and
hold their slot until their last event is sent.

Order matters: a request is authenticated, then its body is read in full (bounded in size and
time), and only then does it wait for a slot. A client that sends headers and then nothing, or
no key, never holds a slot that a paying client needs.
"""

import asyncio
import contextlib
import json
import threading

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rag.core.settings import Settings
from rag.interfaces.auth import LOGIN_PATHS, PageAuth

UPLOADS = {"/v1/documents"}
EXPENSIVE = {"/v1/answer", "/v1/summarize", "/v1/compare", "/v1/chat/completions"} | UPLOADS
_BODY_METHODS = {"POST", "PUT", "PATCH"}


class _TooLarge(Exception):
    """The body grew past its limit while being read."""


class RequestLimits:
    """The key on every route but health checks; bounded bodies; at most
    max_concurrent_requests expensive requests at once.

    An expensive request (answers, summaries, comparisons, chat, uploads) waits up to
    request_queue_seconds for a slot, then gets a 429 with Retry-After: a long queue would only
    make every caller late, and health checks and document reads are never held up. A body
    over its limit is a 413, judged from Content-Length, and while reading when it is chunked;
    a body not received within body_read_seconds is a 408. When the client disconnects, the
    request's cancel flag (scope["state"]["cancelled"]) is set so its work stops (rag.core.cancel).
    """

    def __init__(self, app: ASGIApp, settings: Settings):
        self.app = app
        self.settings = settings
        self.auth = PageAuth(settings)
        self._slots: asyncio.Semaphore | None = None  # made on the server's event loop

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        if path in LOGIN_PATHS:
            return await self.auth.login(scope, receive, send)
        if not self.auth.allows(scope):
            return await self.auth.refuse(scope, receive, send)
        if not path.startswith("/v1/"):
            return await self.app(scope, receive, send)
        limit, what = self._body_limit(path)
        declared = _content_length(scope)
        if scope["method"] in _BODY_METHODS and declared is not None and declared > limit:
            return await _reject(send, 413, f"the request body is {declared:,} bytes; {what}")
        if not (scope["method"] == "POST" and path in EXPENSIVE):
            return await _bounded(self.app, scope, receive, send, limit, what)
        await self._expensive(scope, receive, send, limit, what)

    async def _expensive(
        self, scope: Scope, receive: Receive, send: Send, limit: int, what: str
    ) -> None:
        try:
            body = await asyncio.wait_for(
                _read_body(receive, limit), self.settings.body_read_seconds
            )
        except TimeoutError:
            detail = f"the request body did not arrive within {self.settings.body_read_seconds:g}s"
            return await _reject(send, 408, detail, {"connection": "close"})
        except _TooLarge:
            return await _reject(send, 413, f"the request body is too large: {what}")
        except _Gone:
            return None
        if not await self._take_slot():
            limit_now = self.settings.max_concurrent_requests
            detail = f"the server is busy ({limit_now} requests in progress); retry in a moment"
            return await _reject(send, 429, detail, {"retry-after": "1"})
        cancelled = threading.Event()
        scope.setdefault("state", {})["cancelled"] = cancelled
        replay = _Replay(body, receive, cancelled)
        try:
            await self.app(scope, replay, send)
        finally:
            replay.close()
            if self._slots is not None:
                self._slots.release()

    def _body_limit(self, path: str) -> tuple[int, str]:
        if path in UPLOADS:
            limit = self.settings.max_upload_bytes
            return limit, f"an upload may be at most {limit:,} bytes in all"
        limit = self.settings.max_body_bytes
        return limit, f"the limit is {limit:,} bytes"

    async def _take_slot(self) -> bool:
        """Wait (first come, first served) up to request_queue_seconds for a free slot."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.settings.max_concurrent_requests)
        try:
            await asyncio.wait_for(self._slots.acquire(), self.settings.request_queue_seconds)
        except TimeoutError:
            return False
        return True


class _Gone(Exception):
    """The client disconnected before its body arrived."""


async def _read_body(receive: Receive, limit: int) -> bytes:
    parts, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Gone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts)


class _Replay:
    """A receive that hands the app the body already read, then reports the disconnect.

    After the body, the app (or Starlette, for a streamed reply) may wait on receive for the
    client to leave; a watcher does the same for apps that never ask, and sets the cancel flag.
    """

    def __init__(self, body: bytes, receive: Receive, cancelled: threading.Event):
        self.body: bytes | None = body
        self.receive = receive
        self.cancelled = cancelled
        self.watcher: asyncio.Task | None = None

    async def __call__(self) -> Message:
        if self.body is not None:
            body, self.body = self.body, None
            self.watcher = asyncio.ensure_future(self._watch())
            return {"type": "http.request", "body": body, "more_body": False}
        assert self.watcher is not None
        return await asyncio.shield(self.watcher)

    async def _watch(self) -> Message:
        message = await self.receive()
        if message["type"] == "http.disconnect":
            self.cancelled.set()
        return message

    def close(self) -> None:
        if self.watcher is not None and not self.watcher.done():
            self.watcher.cancel()


async def _bounded(
    app: ASGIApp, scope: Scope, receive: Receive, send: Send, limit: int, what: str
) -> None:
    """Run app, turning a body that outgrows limit while being read into a 413."""
    received = 0
    started = False

    async def counting_receive() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise _TooLarge
        return message

    async def guarded_send(message: Message) -> None:
        nonlocal started
        if received > limit:  # the app answered its failed read: the real reason is the size
            return
        started = started or message["type"] == "http.response.start"
        await send(message)

    with contextlib.suppress(_TooLarge):  # raised through the app from counting_receive
        await app(scope, counting_receive, guarded_send)
    if received > limit and not started:
        await _reject(send, 413, f"the request body is too large: {what}")


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _reject(send: Send, status: int, detail: str, headers: dict | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
