"""Index a folder: load, chunk, embed and write what changed; drop what is gone (with --sync)."""

import importlib
import logging
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from rag.core.cancel import check as check_cancelled
from rag.core.errors import BadInput, DiskFull
from rag.core.models import Chunk
from rag.core.settings import Settings
from rag.index.embedding import Embedder
from rag.index.store import ChunkStore
from rag.ingest.chunking import chunk_document
from rag.ingest.loaders import SUPPORTED_SUFFIXES, Document, SkipFile, load_document

log = logging.getLogger(__name__)
FLUSH_CHUNKS = 1024


@dataclass
class IngestReport:
    """What a run did, file by file."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    chunks_written: int = 0
    chunks_embedded: int = 0  # the others reused the vector of a chunk with the same text
    chunks_deleted: int = 0
    seconds: float = 0.0
    dry_run: bool = False

    def summary(self) -> str:
        if self.dry_run:
            lines = [f"dry run: --sync would remove {len(self.removed)} file(s)"]
            return "\n".join(lines + [f"  would remove {name}" for name in self.removed])
        lines = [
            f"{len(self.added)} added, {len(self.updated)} updated, "
            f"{len(self.unchanged)} unchanged, {len(self.removed)} removed, "
            f"{len(self.skipped)} skipped; {self.chunks_written} chunks written "
            f"({self.chunks_embedded} embedded, {self.chunks_written - self.chunks_embedded} "
            "reusing the vector of a text embedded before), "
            f"{self.chunks_deleted} deleted in {self.seconds:.1f}s"
        ]
        lines += [f"  skipped {name}: {reason}" for name, reason in self.skipped]
        return "\n".join(lines)


@dataclass
class _Pending:
    origin: str = ""
    chunks: list[Chunk] = field(default_factory=list)
    stale_ids: list[str] = field(default_factory=list)
    files: list[tuple[Document, list[Chunk]]] = field(default_factory=list)


def find_files(root: Path) -> list[tuple[Path, str]]:
    """Supported files under root (or root itself), with the name citations will use."""
    if not root.exists():
        raise BadInput(f"no such file or folder: {root}")
    if root.is_file():
        return [(root, root.name)]
    found = []
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() in SUPPORTED_SUFFIXES and not _hidden(path, root):
            found.append((path, path.relative_to(root).as_posix()))
    return found


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def ingest_folder(
    root: Path,
    store: ChunkStore,
    embedder: Embedder,
    settings: Settings,
    sync: bool = False,
    progress: bool | None = None,
    origin: str | None = None,
    dry_run: bool = False,
) -> IngestReport:
    """Bring the index in line with the files under root; unchanged files cost nothing.

    Each file record keeps its origin (root, resolved, unless given); with sync, files of that
    origin that are gone from root are dropped, and files from anywhere else are kept. A dry
    run only reports what sync would drop.
    """
    began = time.perf_counter()
    report = IngestReport()
    origin = origin or str(root.resolve())
    indexed = store.file_chunk_ids()
    origins = store.file_origins()
    files = find_files(root)
    present = {name for _, name in files}
    if dry_run:
        report.dry_run = True
        report.removed = _missing(origins, indexed, origin, present)
        return report
    pending = _Pending(origin=origin)
    _import_the_writer_meanwhile()
    try:
        for path, name in tqdm(files, desc="ingest", unit="file", disable=_quiet(progress, files)):
            check_cancelled()
            try:
                doc = _load(path, root, name, settings)
            except SkipFile as reason:
                report.skipped.append((name, str(reason)))
                log.warning("skipped %s: %s", name, reason)
                continue
            _plan_file(doc, indexed.get(name), name in origins, settings, pending, report)
            if len(pending.chunks) >= FLUSH_CHUNKS:
                _flush(pending, store, embedder, report, settings)
        _flush(pending, store, embedder, report, settings)
        if sync:
            _drop_missing(indexed, _missing(origins, indexed, origin, present), store, report)
    finally:
        if report.chunks_written or report.chunks_deleted:
            store.bump_version()
    report.seconds = time.perf_counter() - began
    return report


def _import_the_writer_meanwhile() -> None:
    """Chunks are written through llama-index, a second or two to import: done on another
    thread while the first files load and embed (the model runs outside the GIL)."""
    threading.Thread(target=importlib.import_module, args=(_WRITER,), daemon=True).start()


_WRITER = "llama_index.vector_stores.chroma"


def _missing(
    origins: dict[str, str],
    indexed: dict[str, tuple[str, set[str]]],
    origin: str,
    present: set[str],
) -> list[str]:
    """Files of this origin that are no longer there, and chunks left without any file record
    (an interrupted run) whose file is not there either."""
    recorded = {f for f, where in origins.items() if where == origin}
    unrecorded = set(indexed) - set(origins)
    return sorted((recorded | unrecorded) - present)


def _quiet(progress: bool | None, files: list) -> bool | None:
    if progress is None:
        return None if len(files) > 20 else True  # tqdm's None: show only on a terminal
    return not progress


def _load(path: Path, root: Path, name: str, settings: Settings) -> Document:
    if path.is_symlink() and root.is_dir():
        target = path.resolve()
        if not target.is_relative_to(root.resolve()):
            raise SkipFile("symlink pointing outside the folder")
    try:
        return load_document(path, name, settings.max_file_bytes)
    except OSError as err:
        raise SkipFile(f"cannot read: {err.strerror or err}") from None


def _plan_file(
    doc: Document,
    known: tuple[str, set[str]] | None,
    recorded: bool,
    settings: Settings,
    pending: _Pending,
    report: IngestReport,
) -> None:
    chunks = chunk_document(doc, settings.chunk_chars, settings.chunk_overlap_sentences)
    new_ids = {c.id for c in chunks}
    old_ids = known[1] if known else set()
    if not known:
        report.added.append(doc.file)
    elif new_ids != old_ids:
        report.updated.append(doc.file)
    else:
        report.unchanged.append(doc.file)
        if recorded:
            return  # an interrupted run may have left the chunks without the file record
    pending.chunks += [c for c in chunks if c.id not in old_ids]
    pending.stale_ids += sorted(old_ids - new_ids)
    pending.files.append((doc, chunks))


def _flush(
    pending: _Pending,
    store: ChunkStore,
    embedder: Embedder,
    report: IngestReport,
    settings: Settings,
) -> None:
    """Write new chunks before deleting stale ones, so a crash never leaves a file with none.

    The file's own record (full text, mean vector) goes last: its presence marks the file done.
    Free disk space is checked before anything is embedded; chunks of a write that fails are
    taken out again, so no chunk is left without its file.
    """
    if pending.chunks:
        ensure_free_space(settings, pending.chunks)
    vectors = _vectors(pending.chunks, store, embedder, report) if pending.chunks else None
    if vectors is not None:
        try:
            store.add(pending.chunks, vectors)
        except Exception:
            _roll_back(store, [c.id for c in pending.chunks])
            raise
        report.chunks_written += len(pending.chunks)
    if pending.stale_ids:
        store.delete(pending.stale_ids)
        report.chunks_deleted += len(pending.stale_ids)
    row = {c.id: i for i, c in enumerate(pending.chunks)}
    for doc, chunks in pending.files:
        rows = [row[c.id] for c in chunks if c.id in row]
        mean = (
            vectors[rows].mean(axis=0)
            if vectors is not None and rows
            else embedder.embed([doc.title])[0]
        )
        store.put_file(doc, mean, len(chunks), pending.origin)
    pending.chunks, pending.stale_ids, pending.files = [], [], []


def _vectors(
    chunks: list[Chunk], store: ChunkStore, embedder: Embedder, report: IngestReport
) -> np.ndarray:
    """A vector per chunk; a text embedded before (in this run, in another file, in an earlier
    version of this one) is not embedded again: wire copies and edits cost only what is new."""
    keys = [str(c.metadata["text_hash"]) for c in chunks]
    known = store.vectors_by_text(keys)
    todo = {key: chunk.text for key, chunk in zip(keys, chunks) if key not in known}
    if todo:
        known.update(zip(todo, embedder.embed(list(todo.values()))))
    report.chunks_embedded += len(todo)
    return np.stack([known[key] for key in keys])


# Bytes a chunk takes on disk beyond its text: its vector, HNSW links, metadata, full-text rows.
_CHUNK_OVERHEAD = 8_000
_TEXT_FACTOR = 4


def ensure_free_space(settings: Settings, chunks: list[Chunk]) -> None:
    """DiskFull, before any work, when writing these chunks would eat the reserve."""
    if settings.chroma_server:
        return  # the server's disk, not ours
    folder = settings.data_dir if settings.data_dir.exists() else Path(".")
    free = shutil.disk_usage(folder).free
    needed = sum(_CHUNK_OVERHEAD + _TEXT_FACTOR * len(c.text) for c in chunks)
    if free - needed < settings.min_free_bytes:
        raise DiskFull(
            f"not enough disk space under {settings.data_dir}: {free / 1e6:.0f} MB free, "
            f"{len(chunks)} chunks need about {needed / 1e6:.1f} MB plus the "
            f"{settings.min_free_bytes / 1e6:.0f} MB reserve (RAG_MIN_FREE_BYTES); "
            "free some space or move RAG_DATA_DIR. Nothing was written."
        )


def _roll_back(store: ChunkStore, ids: list[str]) -> None:
    try:
        store.delete(ids)
    except Exception:  # the disk may still be full: the next run or `rag doctor` finishes it
        log.exception("could not take back %d chunks of a failed write", len(ids))


def _drop_missing(
    indexed: dict[str, tuple[str, set[str]]],
    gone: list[str],
    store: ChunkStore,
    report: IngestReport,
) -> None:
    for name in gone:
        ids = indexed.get(name, ("", set()))[1]
        store.delete(sorted(ids))
        store.drop_file(name)
        report.removed.append(name)
        report.chunks_deleted += len(ids)
