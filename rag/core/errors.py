"""The few errors whose messages are meant for users; interfaces map them to 4xx/503."""


class RagError(Exception):
    """Base of user-facing errors."""


class BadInput(RagError):
    """The request itself is wrong (empty question, unknown file, bad filter)."""


class NotFound(BadInput):
    """A named file or document does not exist in the corpus."""


class StoreUnavailable(RagError):
    """The vector store cannot be reached."""


class LLMUnavailable(RagError):
    """The LLM endpoint failed; carries whatever sources were retrieved."""

    def __init__(self, message: str, sources: list | None = None):
        super().__init__(message)
        self.sources = sources or []


class IndexDamaged(StoreUnavailable):
    """The index on disk cannot be read; the message says what to run or delete."""


class DiskFull(RagError):
    """Not enough free disk space to write the index; nothing was written."""
