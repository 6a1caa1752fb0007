"""Errors as JSON for the API: each user-facing error its status, never a bare text 500."""

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from rag.core.cancel import Cancelled
from rag.core.errors import BadInput, DiskFull, LLMUnavailable, NotFound, StoreUnavailable
from rag.index.store import store_failure

log = logging.getLogger(__name__)


# Each user-facing error and its status (a subclass is listed before its base).
STATUS = [
    (NotFound, 404),
    (BadInput, 400),
    (StoreUnavailable, 503),
    (DiskFull, 507),
    (Cancelled, 499),
]


def add_error_handlers(app: FastAPI) -> None:
    for error, status in STATUS:
        app.add_exception_handler(error, _with_status(status))

    @app.exception_handler(LLMUnavailable)
    async def llm_down(request: Request, err: LLMUnavailable) -> JSONResponse:
        sources = [s.model_dump() for s in err.sources]
        return JSONResponse({"detail": str(err), "sources": sources}, status_code=503)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, err: Exception) -> JSONResponse:
        # Never a bare text 500: the store's own failures (a damaged or vanished index) are a
        # 503 that says what to do; anything else is logged and reported by type only.
        if (damaged := store_failure(err)) is not None:
            return JSONResponse({"detail": str(damaged)}, status_code=503)
        log.exception("unexpected error on %s", request.url.path)
        return JSONResponse(
            {"detail": f"internal error ({type(err).__name__}); see the server log"},
            status_code=500,
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, err: RequestValidationError) -> JSONResponse:
        # Type, place and message only: the rejected input may be raw bytes, a lone surrogate or
        # NaN, which JSON cannot carry (a 500 instead of the 422), and is the caller's own anyway.
        errors = [
            {"type": e["type"], "loc": [_printable(p) for p in e["loc"]], "msg": e["msg"]}
            for e in err.errors()
        ]
        problems = [
            f"{'.'.join(str(p) for p in e['loc'] if p != 'body') or 'body'}: {e['msg']}"
            for e in errors
        ]
        return JSONResponse({"detail": "; ".join(problems), "errors": errors}, status_code=422)


def _printable(part: object) -> object:
    """A location part JSON can carry (a dict key may hold a lone surrogate)."""
    return part if isinstance(part, int) else str(part).encode("utf-8", "replace").decode()


def _with_status(status: int):  # type: ignore[no-untyped-def]
    async def handle(request: Request, err: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(err)}, status_code=status)

    return handle
