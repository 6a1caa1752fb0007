"""Stop work whose client has gone: a request's cancel flag, checked at each unit of work.

The API sets the flag when the client disconnects (rag.interfaces.limits); long loops (embedding
batches, comparisons, ingests) call check() between units, so abandoned work stops within one
unit instead of running to the end.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from rag.core.errors import RagError

_local = threading.local()


class Cancelled(RagError):
    """The client went away; the work was abandoned."""


@contextmanager
def cancellable(flag: threading.Event | None) -> Iterator[None]:
    """Within this block (and this thread), check() raises once flag is set."""
    previous = getattr(_local, "flag", None)
    _local.flag = flag
    try:
        yield
    finally:
        _local.flag = previous


def current_flag() -> threading.Event | None:
    """This thread's flag, to hand on to a worker thread."""
    return getattr(_local, "flag", None)


def check() -> None:
    """Raise Cancelled if this thread's request has been abandoned."""
    flag = getattr(_local, "flag", None)
    if flag is not None and flag.is_set():
        raise Cancelled("the client disconnected; the work was stopped")
