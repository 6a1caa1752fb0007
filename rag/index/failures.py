"""What a failure inside Chroma means for the user: 503 naming the repair, 507 for a full disk."""

import functools
import re
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar

import httpx

from rag.core.errors import DiskFull, IndexDamaged, RagError, StoreUnavailable

if TYPE_CHECKING:
    from rag.index.store import ChunkStore

_P = ParamSpec("_P")
_R = TypeVar("_R")


def store_failure(err: BaseException, where: str | None = None) -> StoreUnavailable | None:
    """What a failure inside Chroma means for the user, or None if it is not the store's.

    A disk that is full, an index another process changed under us, a database file that is
    truncated or overwritten, a data dir deleted while serving: a 503 that says what to do,
    never a bare 500 with a traceback.
    """
    if isinstance(err, StoreUnavailable):
        return err
    message = str(err)
    kind = type(err)
    ours = kind.__module__.startswith(("chromadb", "sqlite3", "llama_index")) or isinstance(
        err, sqlite3.Error
    )
    if not ours and not _STORE_MESSAGE.search(message):
        return None
    at = f" at {where}" if where else ""
    return IndexDamaged(
        f"the index{at} cannot be read ({kind.__name__}: {message[:200]}); "
        "run `rag doctor` to check and repair it"
    )


_STORE_MESSAGE = re.compile(
    r"Error executing plan|Error finding id|database|disk|no such table|SQL|sqlite|HNSW|segment"
    r"|Collection .* does not exist|readonly",
    re.IGNORECASE,
)


def cannot_open(err: BaseException, what: str) -> DiskFull | IndexDamaged:
    """The error to raise when what (the index, a collection) cannot be opened."""
    if disk_full(err):
        return DiskFull(f"the disk under {what} is full: {err}")
    return IndexDamaged(
        f"cannot open {what} ({type(err).__name__}: {str(err)[:200]}); run `rag doctor`"
    )


def disk_full(err: BaseException) -> bool:
    text = str(err).lower()
    return "disk is full" in text or "no space left" in text or getattr(err, "errno", 0) == 28


def reachable(
    method: Callable[Concatenate["ChunkStore", _P], _R],
) -> Callable[Concatenate["ChunkStore", _P], _R]:
    """Store failures as user-facing errors (503, 507), after one retry on a fresh connection.

    A Chroma server that is down, restarting or not answering is StoreUnavailable; the HTTP
    client opens a new connection on the next call. An embedded store that another process
    changed (ids it does not know yet, collections it recreated) is reopened and the call tried
    once more; what still fails is IndexDamaged, naming the repair.
    """

    @functools.wraps(method)
    def call(self: "ChunkStore", *args: _P.args, **kwargs: _P.kwargs) -> _R:
        generation = self.generation
        try:
            return method(self, *args, **kwargs)
        except httpx.TransportError as err:
            raise StoreUnavailable(
                f"the Chroma server at {self.where} is unreachable "
                f"({type(err).__name__}: {err or 'no answer'}); try again shortly"
            ) from err
        except RagError:
            raise
        except Exception as err:
            if disk_full(err):
                raise DiskFull(f"the disk under {self.where} is full: {err}") from err
            if store_failure(err) is None:
                raise
            first = err
        try:
            self.reopen(generation)
            return method(self, *args, **kwargs)
        except RagError:
            raise
        except Exception as err:
            failure = store_failure(err, self.where) or store_failure(first, self.where)
            assert failure is not None  # first was the store's
            raise failure from err

    return call
