"""Load shedding and request-size limits for the API, as plain ASGI middleware (used by rag.api).

Plain ASGI rather than Starlette's BaseHTTPMiddleware, so streamed answers stay streamed and
hold their slot until their last event is sent.
"""

import asyncio
import contextlib
import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rag.settings import Settings

UPLOADS = {"/v1/documents"}
EXPENSIVE = {"/v1/answer", "/v1/summarize", "/v1/compare", "/v1/chat/completions"} | UPLOADS
_BODY_METHODS = {"POST", "PUT", "PATCH"}


class _TooLarge(Exception):
    """The body grew past its limit while being read."""


class RequestLimits:
    """Bounded request bodies, and at most max_concurrent_requests expensive requests at once.

    An expensive request (answers, summaries, comparisons, chat, uploads) waits up to
    request_queue_seconds for a slot, then gets a 429 with Retry-After: a long queue would only
    make every caller late, and health checks and document reads are never held up. A body
    over its limit is a 413, judged from Content-Length, and while reading when it is chunked.
    The page (Gradio, outside /v1/) has its own queue and upload limit.
    """

    def __init__(self, app: ASGIApp, settings: Settings):
        self.app = app
        self.settings = settings
        self._slots: asyncio.Semaphore | None = None  # made on the server's event loop

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/v1/"):
            return await self.app(scope, receive, send)
        limit, what = self._body_limit(path)
        declared = _content_length(scope)
        if scope["method"] in _BODY_METHODS and declared is not None and declared > limit:
            return await _reject(send, 413, f"the request body is {declared:,} bytes; {what}")
        expensive = scope["method"] == "POST" and path in EXPENSIVE
        if expensive and not await self._take_slot():
            limit_now = self.settings.max_concurrent_requests
            detail = f"the server is busy ({limit_now} requests in progress); retry in a moment"
            return await _reject(send, 429, detail, {"retry-after": "1"})
        try:
            await _bounded(self.app, scope, receive, send, limit, what)
        finally:
            if expensive and self._slots is not None:
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
