"""Adding and removing files: folders, uploads and deletions, one writer at a time."""

import tempfile
import threading
import unicodedata
from pathlib import Path

from rag.answer.retrieve import HybridRetriever
from rag.core.errors import BadInput, NotFound
from rag.core.settings import Settings
from rag.index.embedding import Embedder
from rag.index.store import ChunkStore
from rag.ingest.folder import IngestReport, ingest_folder
from rag.ingest.loaders import SUPPORTED_SUFFIXES

_MAX_NAME = 200


class IngestService:
    """Writes to the index under one lock; the keyword index is rebuilt after each write."""

    def __init__(
        self, settings: Settings, store: ChunkStore, embedder: Embedder, retriever: HybridRetriever
    ):
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.retriever = retriever
        self.write_lock = threading.Lock()

    def ingest(
        self,
        root: Path,
        sync: bool = False,
        progress: bool | None = None,
        origin: str | None = None,
        dry_run: bool = False,
    ) -> IngestReport:
        """Index the files under root (see rag.ingest.folder)."""
        with self.write_lock:
            report = ingest_folder(
                root, self.store, self.embedder, self.settings, sync, progress, origin, dry_run
            )
            if report.chunks_written or report.chunks_deleted:
                self.retriever.lexical()  # built (and saved) here, not on the next question
            return report

    def ingest_files(self, files: list[tuple[str, bytes]]) -> IngestReport:
        """Index uploaded files under their own names (txt, md, html); others are refused, and
        so is an upload naming two files alike (one would overwrite the other)."""
        if len(files) > self.settings.max_upload_files:
            raise BadInput(
                f"{len(files)} files in one upload; the limit is {self.settings.max_upload_files}"
            )
        named: dict[str, bytes] = {}
        for name, data in files:
            base = upload_name(name)
            if base in named:
                raise BadInput(f"two uploaded files are both named {base!r}: rename one")
            named[base] = data
        with tempfile.TemporaryDirectory() as folder:
            for base, data in named.items():
                (Path(folder) / base).write_bytes(data)
            return self.ingest(Path(folder), origin="upload")

    def delete(self, file: str) -> int:
        """Drop a file's chunks and record; returns how many chunks went."""
        with self.write_lock:
            ids = self.store.file_chunk_ids().get(file, ("", set()))[1]
            if not ids and self.store.file_text(file) is None:
                raise NotFound(f"no indexed file named {file!r}")
            self.store.delete(sorted(ids))
            self.store.drop_file(file)
            self.store.bump_version()
            return len(ids)


def upload_name(name: str) -> str:
    """The name an uploaded file is indexed under (its base name, NFC); BadInput saying what is
    wrong with it otherwise."""
    base = unicodedata.normalize("NFC", Path(name.replace("\\", "/")).name)
    if Path(base).suffix.lower() not in SUPPORTED_SUFFIXES:
        raise BadInput(f"cannot index {name!r}: upload .txt, .md or .html files")
    if len(base) > _MAX_NAME:
        raise BadInput(f"the file name is {len(base)} characters long; the limit is {_MAX_NAME}")
    if not _safe_name(base):
        raise BadInput(
            f"cannot index {name!r}: a file name may hold letters, digits, spaces, '.', '-' "
            "and '_', and must start with a letter or digit"
        )
    return base


def _safe_name(name: str) -> bool:
    """Letters (with their combining marks), digits, spaces, '.', '-', '_'; a letter or digit
    or "_" first: nothing a path or a shell could read as more than a name."""
    allowed = all(
        c.isalnum() or c in " .-_" or unicodedata.category(c).startswith("M") for c in name
    )
    return allowed and (name[:1].isalnum() or name.startswith("_"))
