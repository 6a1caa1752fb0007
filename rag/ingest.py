"""Index a folder: load, chunk, embed and write what changed; drop what is gone (with --sync)."""

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from rag.chunking import chunk_document
from rag.embedding import Embedder
from rag.errors import BadInput
from rag.loaders import SUPPORTED_SUFFIXES, Document, SkipFile, load_document
from rag.models import Chunk
from rag.settings import Settings
from rag.store import ChunkStore

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
    chunks_deleted: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        lines = [
            f"{len(self.added)} added, {len(self.updated)} updated, "
            f"{len(self.unchanged)} unchanged, {len(self.removed)} removed, "
            f"{len(self.skipped)} skipped; {self.chunks_written} chunks written, "
            f"{self.chunks_deleted} deleted in {self.seconds:.1f}s"
        ]
        lines += [f"  skipped {name}: {reason}" for name, reason in self.skipped]
        return "\n".join(lines)


@dataclass
class _Pending:
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
) -> IngestReport:
    """Bring the index in line with the files under root; unchanged files cost nothing."""
    began = time.perf_counter()
    report = IngestReport()
    indexed = store.file_chunk_ids()
    recorded = store.file_names()
    files = find_files(root)
    pending = _Pending()
    for path, name in tqdm(files, desc="ingest", unit="file", disable=_quiet(progress, files)):
        try:
            doc = _load(path, root, name, settings)
        except SkipFile as reason:
            report.skipped.append((name, str(reason)))
            log.warning("skipped %s: %s", name, reason)
            continue
        _plan_file(doc, indexed.get(name), name in recorded, settings, pending, report)
        if len(pending.chunks) >= FLUSH_CHUNKS:
            _flush(pending, store, embedder, report)
    _flush(pending, store, embedder, report)
    if sync:
        _drop_missing(indexed, {name for _, name in files}, store, report)
    if report.chunks_written or report.chunks_deleted:
        store.bump_version()
    report.seconds = time.perf_counter() - began
    return report


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


def _flush(pending: _Pending, store: ChunkStore, embedder: Embedder, report: IngestReport) -> None:
    """Write new chunks before deleting stale ones, so a crash never leaves a file with none.

    The file's own record (full text, mean vector) goes last: its presence marks the file done.
    """
    vectors = embedder.embed([c.text for c in pending.chunks]) if pending.chunks else None
    if vectors is not None:
        store.add(pending.chunks, vectors)
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
        store.put_file(doc, mean, len(chunks))
    pending.chunks, pending.stale_ids, pending.files = [], [], []


def _drop_missing(
    indexed: dict[str, tuple[str, set[str]]],
    present: set[str],
    store: ChunkStore,
    report: IngestReport,
) -> None:
    for name, (_, ids) in sorted(indexed.items()):
        if name not in present:
            store.delete(sorted(ids))
            store.drop_file(name)
            report.removed.append(name)
            report.chunks_deleted += len(ids)
