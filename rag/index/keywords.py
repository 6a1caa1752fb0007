"""The keyword (BM25) index: segments of postings on disk, appended to as files change.

A segment holds the chunks of some files: a sorted vocabulary, term -> (chunk, term frequency)
postings, chunk lengths and ids, and a table of its files (name, content hash, outlet, date).
Which chunks count is decided by the store's file records: a chunk is live while its file's
recorded hash is the one its segment indexed, so an edited or deleted file needs no rewrite of
old segments, only a new segment for the new version. Scores use corpus-wide statistics summed
over segments (Lucene's BM25: k1 1.5, b 0.75), so a segmented index ranks like a single one.

Arrays are saved as .npy and memory-mapped on load: a new process reads a small manifest and
maps the segments, it parses nothing in proportion to the corpus. Small segments are merged
once there are more than MAX_SEGMENTS, so an upload costs time in proportion to the upload
(plus one read of the store's file records).
"""

import json
import logging
import math
import os
import shutil
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rag.core.models import Chunk
from rag.core.text import content_terms

if TYPE_CHECKING:
    from rag.core.settings import Settings
    from rag.index.filters import Filters
    from rag.index.store import ChunkStore

log = logging.getLogger(__name__)
# Bumped whenever content_terms or the layout changes: older saved indexes are rebuilt.
FORMAT = 4
K1, B = 1.5, 0.75
MAX_SEGMENTS = 8
MAX_TERM_BYTES = 64
_ARRAYS = ("vocab", "term_start", "postings", "frequencies", "lengths", "ids", "file_of")
_ORPHAN_SEGMENT_SECONDS = 600  # another process may have just written one it will reference


@dataclass(frozen=True)
class FileEntry:
    """A file as a segment indexed it: its name, content hash and what filters look at."""

    file: str
    sha256: str
    outlet: str
    date: str
    date_int: int

    def meta(self) -> dict:
        return {
            "file": self.file,
            "outlet": self.outlet,
            "date": self.date,
            "date_int": self.date_int,
        }


class Segment:
    """The postings of some chunks, loaded from (or about to be saved to) one folder."""

    def __init__(self, name: str, arrays: dict[str, np.ndarray], files: list[FileEntry]):
        self.name = name
        self.vocab = arrays["vocab"]  # sorted term bytes
        self.term_start = arrays["term_start"]  # term i's postings: [term_start[i], [i+1])
        self.postings = arrays["postings"]  # chunk row
        self.frequencies = arrays["frequencies"]
        self.lengths = arrays["lengths"]
        self.ids = arrays["ids"]
        self.file_of = arrays["file_of"]  # chunk row -> index into files
        self.files = files

    @classmethod
    def build(cls, chunks: Sequence[Chunk], name: str | None = None) -> "Segment":
        terms = [[_term_bytes(t) for t in content_terms(c.text)] or [b"_"] for c in chunks]
        files, file_of = _file_table(chunks)
        counts = [Counter(t) for t in terms]
        return cls._from_counts(
            name or _new_name(),
            counts,
            np.array([len(t) for t in terms], dtype=np.int32),
            np.array([c.id.encode() for c in chunks], dtype="S"),
            np.array(file_of, dtype=np.int32),
            files,
        )

    @classmethod
    def _from_counts(
        cls,
        name: str,
        counts: list[Counter],
        lengths: np.ndarray,
        ids: np.ndarray,
        file_of: np.ndarray,
        files: list[FileEntry],
    ) -> "Segment":
        vocab = np.array(sorted({t for c in counts for t in c}) or [b"_"])
        rows, columns, tfs = [], [], []
        for row, counter in enumerate(counts):
            if not counter:
                continue
            keys = np.array(list(counter))
            rows.append(np.full(len(keys), row, dtype=np.int32))
            columns.append(np.searchsorted(vocab, keys).astype(np.int32))
            tfs.append(np.fromiter(counter.values(), dtype=np.float32, count=len(keys)))
        return cls._from_triples(name, vocab, rows, columns, tfs, lengths, ids, file_of, files)

    @classmethod
    def _from_triples(  # noqa: PLR0913
        cls,
        name: str,
        vocab: np.ndarray,
        rows: list[np.ndarray],
        columns: list[np.ndarray],
        tfs: list[np.ndarray],
        lengths: np.ndarray,
        ids: np.ndarray,
        file_of: np.ndarray,
        files: list[FileEntry],
    ) -> "Segment":
        row = np.concatenate(rows) if rows else np.zeros(0, np.int32)
        column = np.concatenate(columns) if columns else np.zeros(0, np.int32)
        tf = np.concatenate(tfs) if tfs else np.zeros(0, np.float32)
        order = np.lexsort((row, column))
        term_start = np.zeros(len(vocab) + 1, dtype=np.int64)
        np.cumsum(np.bincount(column, minlength=len(vocab)), out=term_start[1:])
        arrays = {
            "vocab": vocab,
            "term_start": term_start,
            "postings": row[order].astype(np.int32),
            "frequencies": tf[order].astype(np.float32),
            "lengths": lengths.astype(np.int32),
            "ids": ids,
            "file_of": file_of.astype(np.int32),
        }
        return cls(name, arrays, files)

    def __len__(self) -> int:
        return len(self.ids)

    def postings_of(self, term: bytes) -> tuple[np.ndarray, np.ndarray]:
        """The rows holding the term and how often each holds it."""
        i = int(np.searchsorted(self.vocab, term))
        if i >= len(self.vocab) or self.vocab[i] != term:
            return _NO_ROWS, _NO_FREQUENCIES
        a, b = int(self.term_start[i]), int(self.term_start[i + 1])
        return self.postings[a:b], self.frequencies[a:b]

    def save(self, folder: Path) -> None:
        temp = folder.with_name(f"{folder.name}.{os.getpid()}.tmp")
        temp.mkdir(parents=True)
        for key in _ARRAYS:
            np.save(temp / f"{key}.npy", getattr(self, key), allow_pickle=False)
        files = [vars(f) for f in self.files]
        (temp / "files.json").write_text(json.dumps(files), encoding="utf-8")
        os.replace(temp, folder)

    @classmethod
    def load(cls, folder: Path) -> "Segment":
        arrays = {
            key: np.load(folder / f"{key}.npy", mmap_mode="r", allow_pickle=False)
            for key in _ARRAYS
        }
        files = [FileEntry(**f) for f in json.loads((folder / "files.json").read_text("utf-8"))]
        segment = cls(folder.name, arrays, files)
        segment.check()
        return segment

    def check(self) -> None:
        """ValueError unless the arrays fit together (a damaged or foreign folder)."""
        rows, terms = len(self.ids), len(self.vocab)
        fits = (
            len(self.term_start) == terms + 1
            and len(self.lengths) == rows == len(self.file_of)
            and len(self.postings) == len(self.frequencies) == int(self.term_start[-1])
            and (rows == 0 or int(self.file_of.max()) < len(self.files))
            and (len(self.postings) == 0 or int(self.postings.max()) < rows)
        )
        if not fits:
            raise ValueError(f"segment {self.name} does not fit together")


_NO_ROWS = np.zeros(0, dtype=np.int32)
_NO_FREQUENCIES = np.zeros(0, dtype=np.float32)


class KeywordIndex:
    """BM25 over the live chunks of its segments."""

    def __init__(self, segments: list[Segment], live: dict[str, str]):
        self.segments = segments
        self.live_files = live  # file -> content hash the store records
        self._holder: dict[FileEntry, int] = {}
        for n, segment in enumerate(segments):
            for entry in segment.files:
                self._holder.setdefault(entry, n)
        self.alive = [self._alive(n, s) for n, s in enumerate(segments)]
        self.chunk_count = int(sum(a.sum() for a in self.alive))
        total = sum(float(s.lengths[a].sum()) for s, a in zip(segments, self.alive))
        self.average_length = total / max(1, self.chunk_count)
        self._df: dict[bytes, int] = {}

    def _alive(self, n: int, segment: Segment) -> np.ndarray:
        """Rows whose file is at the version the store records (and not indexed twice)."""
        live = self.live_files
        current = np.array(
            [live.get(f.file) == f.sha256 and self._holder[f] == n for f in segment.files]
            or [False]
        )
        return current[np.asarray(segment.file_of)] if len(segment) else np.zeros(0, bool)

    def indexed(self) -> set[tuple[str, str]]:
        """(file, hash) of every file some segment holds."""
        return {(f.file, f.sha256) for s in self.segments for f in s.files}

    def files(self) -> list[dict]:
        """The live files' metadata (file, outlet, date, date_int)."""
        seen: dict[str, dict] = {}
        for segment in self.segments:
            for entry in segment.files:
                if self.live_files.get(entry.file) == entry.sha256:
                    seen.setdefault(entry.file, entry.meta())
        return list(seen.values())

    @cached_property
    def outlets(self) -> frozenset[str]:
        """The live files' outlets, read once per index version (a question may name one)."""
        return frozenset(str(m["outlet"]) for m in self.files() if m.get("outlet"))

    def document_frequency(self, term: bytes) -> int:
        if term not in self._df:
            self._df[term] = sum(
                int(alive[rows].sum())
                for segment, alive in zip(self.segments, self.alive)
                for rows in [segment.postings_of(term)[0]]
            )
        return self._df[term]

    def mentions(self, word: str) -> bool:
        """Does any live chunk hold every content term of this word or name?"""
        terms = content_terms(word)
        return bool(terms) and all(self.document_frequency(_term_bytes(t)) > 0 for t in terms)

    def together(self, words: list[str]) -> bool:
        """Does one live chunk hold every content term of all these words (a name and its
        acronym: "Hayat Tahrir al-Sham" and "HTS")?"""
        terms = [_term_bytes(t) for word in words for t in content_terms(word)]
        for segment, alive in zip(self.segments, self.alive):
            rows = segment.postings_of(terms[0])[0] if terms else np.zeros(0, np.int32)
            for term in terms[1:]:
                rows = np.intersect1d(rows, segment.postings_of(term)[0])
            if len(rows) and alive[rows].any():
                return True
        return False

    def frequency(self, word: str) -> int:
        """In how many live chunks a word or name may stand (its rarest content term's count)."""
        terms = content_terms(word)
        return min((self.document_frequency(_term_bytes(t)) for t in terms), default=0)

    def idf(self, term: str) -> float:
        """How rare a term is across chunks; a term no chunk has is rarest of all."""
        return self._idf(_term_bytes(term))

    def _idf(self, term: bytes) -> float:
        n, df = self.chunk_count, self.document_frequency(term)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def search(
        self, question: str, k: int, filters: "Filters | None" = None
    ) -> list[tuple[str, float]]:
        """The ids of the k best-scoring live chunks (score above 0) that pass the filters."""
        terms = [_term_bytes(t) for t in content_terms(question)]
        if not self.chunk_count or not terms:
            return []
        weights = {t: self._idf(t) for t in set(terms)}
        found: list[tuple[float, bytes]] = []
        for segment, alive in zip(self.segments, self.alive):
            scores = self._scores(segment, terms, weights)
            keep = alive if filters is None else alive & _passing(segment, filters)
            rows = np.flatnonzero(keep & (scores > 0))
            if len(rows) > k:  # the k best, and all tied with the k-th: ties break by id below
                kth = np.partition(scores[rows], len(rows) - k)[len(rows) - k]
                rows = rows[scores[rows] >= kth]
            found.extend((float(scores[i]), bytes(segment.ids[i])) for i in rows)
        found.sort(key=lambda pair: (-pair[0], pair[1]))
        return [(cid.decode(), score) for score, cid in found[:k]]

    def _scores(self, segment: Segment, terms: list[bytes], weights: dict) -> np.ndarray:
        scores = np.zeros(len(segment), dtype=np.float32)
        for term in terms:
            rows, tf = segment.postings_of(term)
            if len(rows):
                lengths = segment.lengths[rows].astype(np.float32)
                norm = K1 * (1 - B + B * lengths / self.average_length)
                scores[rows] += weights[term] * tf / (tf + norm)
        return scores


def _passing(segment: Segment, filters: "Filters") -> np.ndarray:
    passes = np.array([filters.matches(f.meta()) for f in segment.files] or [False])
    return passes[np.asarray(segment.file_of)]


def keyword_folder(settings: "Settings") -> Path:
    """Where a collection's keyword index is saved."""
    return settings.data_dir / "lexical" / settings.collection


class SegmentFolder:
    """Where an index's segments and manifest live; writes are atomic renames."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.manifest = folder / "manifest.json"

    def readable(self) -> bool:
        """Whether the saved index (if any) loads."""
        try:
            manifest = self.read_manifest()
            if manifest is not None:
                self.load(manifest["segments"])
            return True
        except (OSError, ValueError, TypeError, KeyError):
            return False

    def read_manifest(self) -> dict | None:
        """The saved manifest, None if there is none; ValueError if it cannot be used."""
        try:
            saved = json.loads(self.manifest.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as err:
            raise ValueError(str(err)) from None
        if not isinstance(saved, dict) or saved.get("format") != FORMAT:
            raise ValueError("not a keyword index manifest of this version")
        if not isinstance(saved.get("segments"), list) or not isinstance(saved.get("files"), dict):
            raise ValueError("the manifest lists no segments or files")
        return saved

    def load(self, names: Iterable[str]) -> list[Segment]:
        return [Segment.load(self.folder / name) for name in names]

    def write(self, version: str, index: KeywordIndex, new: list[Segment]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        for segment in new:
            segment.save(self.folder / segment.name)
        saved = {
            "format": FORMAT,
            "version": version,
            "segments": [s.name for s in index.segments],
            "files": index.live_files,
        }
        temp = self.manifest.with_name(f"manifest.{os.getpid()}.tmp")
        temp.write_text(json.dumps(saved), encoding="utf-8")
        os.replace(temp, self.manifest)
        self.folder.with_suffix(".json").unlink(missing_ok=True)  # the single-file format before 3
        self._remove_unreferenced({s.name for s in index.segments})

    def _remove_unreferenced(self, keep: set[str]) -> None:
        """Segments no manifest names any more (merged away), once no writer can still want
        them; a process that has one mapped keeps reading it (unlinking does not unmap)."""
        now = time.time()
        for path in self.folder.glob("seg-*"):
            if path.name in keep or not path.is_dir():
                continue
            if now - path.stat().st_mtime > _ORPHAN_SEGMENT_SECONDS:
                shutil.rmtree(path, ignore_errors=True)


def merged(segments: list[Segment], index: KeywordIndex) -> Segment:
    """One segment holding the live chunks of these."""
    parts = [(s, a) for s, a in zip(index.segments, index.alive) if s in segments]
    vocab = np.unique(np.concatenate([np.asarray(s.vocab) for s, _ in parts]))
    files: list[FileEntry] = []
    rows, columns, tfs, lengths, ids, file_of = [], [], [], [], [], []
    offset = 0
    for segment, alive in parts:
        keep = np.flatnonzero(alive)
        new_row = np.full(len(segment), -1, dtype=np.int64)
        new_row[keep] = np.arange(offset, offset + len(keep))
        term_of_posting = np.repeat(
            np.arange(len(segment.vocab)), np.diff(np.asarray(segment.term_start))
        )
        remap = np.searchsorted(vocab, np.asarray(segment.vocab))
        kept = new_row[np.asarray(segment.postings)] >= 0
        rows.append(new_row[np.asarray(segment.postings)][kept].astype(np.int32))
        columns.append(remap[term_of_posting][kept].astype(np.int32))
        tfs.append(np.asarray(segment.frequencies)[kept])
        old_file = np.asarray(segment.file_of)[keep]
        live_files = np.unique(old_file)
        position = np.full(len(segment.files), -1, dtype=np.int32)
        position[live_files] = np.arange(len(files), len(files) + len(live_files))
        files.extend(segment.files[int(i)] for i in live_files)
        lengths.append(np.asarray(segment.lengths)[keep])
        ids.append(np.asarray(segment.ids)[keep])
        file_of.append(position[old_file])
        offset += len(keep)
    return Segment._from_triples(
        _new_name(),
        vocab,
        rows,
        columns,
        tfs,
        np.concatenate(lengths),
        np.concatenate(ids) if offset else np.zeros(0, "S1"),
        np.concatenate(file_of),
        files,
    )


def to_merge(index: KeywordIndex) -> list[Segment]:
    """The segments worth merging now: the smallest ones once there are too many, and any
    that is mostly dead chunks."""
    sized = sorted(zip(index.segments, index.alive), key=lambda pair: len(pair[0]))
    chosen = [s for s, alive in sized if len(s) and alive.mean() < 0.5]
    surplus = len(index.segments) - MAX_SEGMENTS
    if surplus > 0:
        chosen += [s for s, _ in sized[: surplus + 1] if s not in chosen]
    return chosen


def _file_table(chunks: Sequence[Chunk]) -> tuple[list[FileEntry], list[int]]:
    position: dict[tuple[str, str], int] = {}
    files: list[FileEntry] = []
    file_of = []
    for chunk in chunks:
        meta = chunk.metadata
        key = (chunk.file, str(meta.get("file_sha256", "")))
        if key not in position:
            position[key] = len(files)
            files.append(
                FileEntry(
                    chunk.file,
                    key[1],
                    str(meta.get("outlet") or ""),
                    str(meta.get("date") or ""),
                    int(meta.get("date_int") or 0),
                )
            )
        file_of.append(position[key])
    return files, file_of


def _term_bytes(term: str) -> bytes:
    return term.encode()[:MAX_TERM_BYTES]


def _new_name() -> str:
    return f"seg-{uuid.uuid4().hex[:16]}"


class KeywordKeeper:
    """The keyword index in step with the store: the saved one loaded, segments appended for
    the files the store holds at another version, merged when they pile up, and saved."""

    def __init__(self, store: "ChunkStore", folder: Path | None):
        self.store = store
        self.saved = SegmentFolder(folder) if folder else None
        self._index: KeywordIndex | None = None
        self._version: str | None = None
        self._lock = threading.Lock()

    def current(self) -> KeywordIndex:
        """The index for the store's current version (brought up to date first if need be)."""
        version = self.store.version()
        with self._lock:
            if self._index is None:
                self._index, self._version = self._load(version)
            if version != self._version or self._index is None:
                self._index = self._update(self._index, version)
                self._version = version
            return self._index

    def _load(self, version: str) -> tuple[KeywordIndex | None, str | None]:
        """The saved index (whatever version it is of), or None if there is none or it is
        damaged (then rebuilt from the store, and saved again)."""
        if not self.saved:
            return None, None
        try:
            manifest = self.saved.read_manifest()
            if manifest is None:
                return None, None
            segments = self.saved.load(manifest["segments"])
            return KeywordIndex(segments, manifest["files"]), manifest.get("version")
        except (OSError, ValueError, TypeError, KeyError) as err:
            log.warning(
                "the saved keyword index in %s is unusable (%s); rebuilding it",
                self.saved.folder,
                err,
            )
            return None, None

    def _update(self, index: KeywordIndex | None, version: str) -> KeywordIndex:
        records = self.store.file_hashes()
        held = index.indexed() if index else set()
        wanted = {f: sha for f, sha in records.items() if (f, sha) not in held}
        chunks = self.store.chunks_of_files(wanted) if wanted else []
        segments = list(index.segments) if index else []
        new = [Segment.build(chunks)] if chunks else []
        updated = KeywordIndex(segments + new, records)
        merging = to_merge(updated)
        if merging:
            combined = merged(merging, updated)
            new = [s for s in new if s not in merging] + [combined]
            kept = [s for s in updated.segments if s not in merging]
            updated = KeywordIndex([*kept, combined], records)
        if self.saved and version:
            self.saved.write(version, updated, new)
        return updated
