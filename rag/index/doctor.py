"""`rag doctor`: check the index in RAG_DATA_DIR and repair what can be repaired.

What it finds and what --repair does:
- a Chroma database that cannot be opened (truncated, overwritten, wrong version): moved aside
  to chroma.damaged-<time> (kept, never deleted); then re-ingest the folders;
- chunks whose file has no record (a write that failed half-way, a disk that filled up):
  deleted; a file record with no chunks: dropped;
- a saved keyword index that cannot be read: deleted (rebuilt on the next question).
"""

import shutil
import time
from pathlib import Path

from rag.core.errors import StoreUnavailable
from rag.core.settings import Settings
from rag.index.keywords import SegmentFolder, keyword_folder


def run_doctor(settings: Settings, repair: bool) -> tuple[list[str], bool]:
    """Lines of findings, and whether the index is healthy (after repairs, if asked)."""
    from rag.pipeline import build_pipeline

    lines: list[str] = []
    lexical = SegmentFolder(keyword_folder(settings))
    if not lexical.readable():
        lines.append(f"the saved keyword index {lexical.folder} is unreadable")
        if repair:
            shutil.rmtree(lexical.folder, ignore_errors=True)
            lines.append("  removed it: it is rebuilt on the next question")
    try:
        pipeline = build_pipeline(settings)
        count = pipeline.store.count()
    except StoreUnavailable as err:
        lines.append(str(err))
        if settings.chroma_server:
            return lines + ["  the Chroma server must be repaired or restarted by its owner"], False
        return lines + _move_aside(settings.data_dir / "chroma", repair), False
    orphans, empty = pipeline.store.orphans()
    stray = sum(len(ids) for ids in orphans.values())
    if stray:
        lines.append(f"{stray} chunks of {len(orphans)} file(s) have no file record")
    if empty:
        lines.append(f"{len(empty)} file record(s) have no chunks: {', '.join(sorted(empty))}")
    if repair and (orphans or empty):
        with pipeline.write_lock:
            pipeline.store.delete(sorted(i for ids in orphans.values() for i in ids))
            for file in empty:
                pipeline.store.drop_file(file)
            pipeline.store.bump_version()
        lines.append("  removed them")
        count = pipeline.store.count()
    files = len(pipeline.documents())
    lines.append(f"index at {pipeline.store.where}: {files} files, {count} chunks")
    healthy = repair or not (orphans or empty)
    return lines, healthy and lexical.readable()


def _move_aside(folder: Path, repair: bool) -> list[str]:
    if not folder.exists():
        return []
    if not repair:
        return [f"  run `rag doctor --repair` to move {folder} aside, then re-ingest your folders"]
    aside = folder.with_name(f"chroma.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
    shutil.move(str(folder), str(aside))
    lexical = folder.parent / "lexical"
    if lexical.exists():
        shutil.rmtree(lexical)
    return [
        f"  moved the damaged database to {aside} (kept; delete it when you no longer need it)",
        "  now re-ingest: `rag ingest FOLDER` for each folder you had indexed",
    ]
