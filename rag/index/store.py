"""Chunks in Chroma, embedded on disk or a server.

Chunks are written through llama-index's Chroma vector store (so any llama-index application
can read the collection as nodes); questions read Chroma directly, so answering a question does
not import llama-index (about a second of a new process's start).
"""

import threading
import time
import uuid
from collections.abc import Iterable

import numpy as np

from rag.core.errors import BadInput
from rag.core.models import Chunk, DocumentInfo
from rag.core.settings import Settings
from rag.index.connection import connect
from rag.index.failures import cannot_open, reachable, store_failure
from rag.index.filters import Filters, iso_date
from rag.index.nodes import document_info, from_record, to_node
from rag.ingest.loaders import Document

__all__ = ["ChunkStore", "Filters", "iso_date", "store_failure"]

_VERSION_KEY = "rag_version"
_EMBEDDER_KEY = "rag_embedder"
_VERSION_TTL_SECONDS = 1.0
_FILES_PER_GET = 500


class ChunkStore:
    """The chunks of every indexed file, their embeddings and metadata."""

    def __init__(self, settings: Settings, embedder_name: str):
        self.settings = settings
        self.embedder_name = embedder_name
        self.where = settings.chroma_server or str(settings.data_dir)
        self._texts: dict[tuple[str, str], str] = {}
        self._version, self._version_read = "", float("-inf")
        self._reopen_lock = threading.Lock()
        self.generation = 0  # how many times the connection was (re)opened
        self._open()

    def _open(self) -> None:
        settings = self.settings
        self.client = connect(settings)
        try:
            self.collection = self.client.get_or_create_collection(
                settings.collection,
                metadata={"hnsw:space": "cosine", _EMBEDDER_KEY: self.embedder_name},
            )
            self.files = self.client.get_or_create_collection(
                f"{settings.collection}_files", metadata={"hnsw:space": "cosine"}
            )
        except Exception as err:
            raise cannot_open(err, f"the Chroma collection at {self.where}") from err
        built_with = (self.collection.metadata or {}).get(_EMBEDDER_KEY, self.embedder_name)
        if built_with != self.embedder_name:
            raise BadInput(
                f"collection {settings.collection!r} was built with embeddings from {built_with}, "
                f"but {self.embedder_name} is configured: use another RAG_COLLECTION or "
                "RAG_DATA_DIR"
            )
        self.generation += 1

    @staticmethod
    def embedder_of(settings: Settings) -> str | None:
        """The embedder that built the settings' collection, None if there is none yet."""
        try:
            collection = connect(settings).get_collection(settings.collection)
        except Exception:  # no such collection (or no store yet: opening it says why)
            return None
        return (collection.metadata or {}).get(_EMBEDDER_KEY)

    def reopen(self, seen: int | None = None) -> None:
        """A fresh connection and collection handles: another process may have changed the
        index (an embedded client caches segments; a deleted and recreated collection has a
        new id)."""
        with self._reopen_lock:
            if seen is not None and seen != self.generation:
                return  # another thread reopened it since this caller looked
            if not self.settings.chroma_server:
                from chromadb.api.client import SharedSystemClient

                SharedSystemClient.clear_system_cache()
            self._open()

    @reachable
    def put_file(self, doc: Document, vector: np.ndarray, chunk_count: int, origin: str) -> None:
        """Keep a file's full text and metadata (its vector: the mean of its chunks'), and
        where it came from (the folder ingested, or "upload")."""
        self.files.upsert(
            ids=[doc.file],
            documents=[doc.text],
            embeddings=[vector.tolist()],
            metadatas=[
                {
                    "title": doc.title,
                    "outlet": doc.outlet or "",
                    "date": doc.date or "",
                    "sha256": doc.sha256,
                    "chunks": chunk_count,
                    "origin": origin,
                }
            ],
        )

    @reachable
    def drop_file(self, file: str) -> None:
        self.files.delete(ids=[file])

    @reachable
    def file_names(self) -> set[str]:
        return {file for file, _ in self._file_records()}

    @reachable
    def file_origins(self) -> dict[str, str]:
        """Where each recorded file came from ("" for files indexed before origins were kept)."""
        return {f: str((m or {}).get("origin") or "") for f, m in self._file_records()}

    @reachable
    def file_text(self, file: str) -> tuple[str, DocumentInfo] | None:
        """A file's text (the one citation offsets point into) and its metadata."""
        got = self.files.get(ids=[file], include=["documents", "metadatas"])
        if not got["ids"]:
            return None
        return got["documents"][0], document_info(file, got["metadatas"][0])

    @reachable
    def recorded_texts(self, files: Iterable[str]) -> dict[str, str]:
        """The recorded text of each of these files that has a record (its ingest finished).

        Read fresh on every call (one metadata lookup), the texts cached by content hash.
        """
        names = sorted(set(files))
        if not names:
            return {}
        got = self.files.get(ids=names, include=["metadatas"])
        texts, missing = {}, []
        for file, meta in zip(got["ids"], got["metadatas"]):
            text = self._texts.get((file, str(meta.get("sha256"))))
            if text is None:
                missing.append(file)
            else:
                texts[file] = text
        if missing:
            got = self.files.get(ids=missing, include=["documents", "metadatas"])
            if len(self._texts) > 2000:
                self._texts.clear()
            for file, text, meta in zip(got["ids"], got["documents"], got["metadatas"]):
                self._texts[(file, str(meta.get("sha256")))] = texts[file] = text
        return texts

    def finished(self, chunks: list[Chunk]) -> list[Chunk]:
        """Chunks that match their file's recorded text.

        An ingest writes a file's new chunks, then deletes its stale ones, then its record; a
        query running meanwhile (or a lexical index built before) can see chunks of a file with
        no record yet, or of another version than the recorded one. Citing those would quote
        text the file does not have, so they wait until the ingest has finished.
        """
        texts = self.recorded_texts(c.file for c in chunks)
        return [c for c in chunks if c.file in texts and texts[c.file][c.start : c.end] == c.text]

    @reachable
    def add(self, chunks: list[Chunk], embeddings: np.ndarray) -> None:
        """Write chunks with their embeddings (ids already present are overwritten)."""
        from llama_index.core.schema import BaseNode
        from llama_index.vector_stores.chroma import ChromaVectorStore

        vectors = ChromaVectorStore(chroma_collection=self.collection)
        nodes: list[BaseNode] = [to_node(c, v) for c, v in zip(chunks, embeddings)]
        for i in range(0, len(nodes), 2000):
            vectors.add(nodes[i : i + 2000])

    @reachable
    def delete(self, ids: list[str]) -> None:
        for i in range(0, len(ids), 2000):
            self.collection.delete(ids=ids[i : i + 2000])

    @reachable
    def query(
        self, vector: np.ndarray, k: int, filters: Filters | None
    ) -> list[tuple[Chunk, float]]:
        """The k nearest chunks and their cosine similarity."""
        got = self.collection.query(
            query_embeddings=[vector.tolist()],
            n_results=k,
            where=filters.where() if filters else None,
            include=["metadatas", "documents", "distances"],
        )
        rows = zip(got["ids"][0], got["metadatas"][0], got["documents"][0], got["distances"][0])  # type: ignore[index]
        # A chunk another process deleted a moment ago can still come back without its metadata.
        return [
            (from_record(cid, meta, text), 1.0 - float(distance))
            for cid, meta, text, distance in rows
            if meta and "file" in meta
        ]

    @reachable
    def file_chunk_ids(self) -> dict[str, tuple[str, set[str]]]:
        """For each indexed file: its content hash and the ids of its chunks."""
        files: dict[str, tuple[str, set[str]]] = {}
        for chunk_id, meta in self._scan(["metadatas"]):
            sha, ids = files.setdefault(meta["file"], (meta.get("file_sha256", ""), set()))
            ids.add(chunk_id)
        return files

    @reachable
    def file_hashes(self) -> dict[str, str]:
        """Each recorded file's content hash (a file has a record once its ingest finished)."""
        return {f: str((m or {}).get("sha256", "")) for f, m in self._file_records()}

    @reachable
    def chunks_of_files(self, files: dict[str, str]) -> list[Chunk]:
        """The chunks of these files at these content hashes (other versions left out)."""
        if len(files) > _FILES_PER_GET:
            rows = self._scan_full()  # most of the corpus: one pass beats many lookups
        else:
            got = self.collection.get(
                where={"file": {"$in": sorted(files)}}, include=["metadatas", "documents"]
            )
            rows = zip(got["ids"], got["metadatas"], got["documents"])
        return [
            from_record(cid, meta, text)
            for cid, meta, text in rows
            if meta and files.get(meta.get("file")) == meta.get("file_sha256")
        ]

    @reachable
    def vectors_by_text(self, hashes: Iterable[str]) -> dict[str, np.ndarray]:
        """Stored vectors of chunks with these text hashes (one per hash found)."""
        wanted, found = sorted(set(hashes)), dict[str, np.ndarray]()
        for i in range(0, len(wanted), _FILES_PER_GET):
            got = self.collection.get(
                where={"text_hash": {"$in": wanted[i : i + _FILES_PER_GET]}},
                include=["metadatas", "embeddings"],
            )
            for meta, vector in zip(got["metadatas"], got["embeddings"]):  # type: ignore[arg-type]
                found.setdefault(str(meta["text_hash"]), np.asarray(vector, dtype=np.float32))
        return found

    @reachable
    def chunks_by_id(self, ids: list[str]) -> list[Chunk]:
        """These chunks, those that still exist, in no particular order."""
        if not ids:
            return []
        got = self.collection.get(ids=ids, include=["metadatas", "documents"])
        rows = zip(got["ids"], got["metadatas"], got["documents"])
        return [from_record(*row) for row in rows if row[1] and "file" in row[1]]

    @reachable
    def documents(self) -> list[DocumentInfo]:
        """Every indexed file with its metadata and chunk count."""
        docs = [document_info(file, meta) for file, meta in self._file_records()]
        return sorted(docs, key=lambda d: d.file)

    @reachable
    def all_chunks(self) -> list[Chunk]:
        """Every chunk (for the lexical index and document listings)."""
        return [from_record(cid, meta, text) for cid, meta, text in self._scan_full()]

    @reachable
    def chunks_of(self, file: str) -> list[Chunk]:
        got = self.collection.get(where={"file": file}, include=["metadatas", "documents"])
        chunks = [from_record(*row) for row in zip(got["ids"], got["metadatas"], got["documents"])]
        return sorted(chunks, key=lambda c: c.start)

    @reachable
    def neighbours(self, chunks: list[Chunk]) -> list[Chunk]:
        """The chunks just before and after these in their files: looked up by the ids each
        chunk records of its neighbours (a key lookup; a metadata query scans the collection:
        100 ms an answer at 22k chunks), by position for chunks indexed without them."""
        linked: set[str] = set()
        unlinked = []
        for chunk in chunks:
            ids = [chunk.metadata.get(key) for key in ("prev_id", "next_id")]
            if any(ids):
                linked.update(str(i) for i in ids if i)
            elif int(chunk.metadata.get("chunk_index", 0)) > 0:
                unlinked.append(chunk)
        files = {chunk.file for chunk in chunks}
        found = [c for c in self.chunks_by_id(sorted(linked)) if c.file in files]
        return found + self._neighbours_by_position(unlinked)

    def _neighbours_by_position(self, chunks: list[Chunk]) -> list[Chunk]:
        wanted: dict[str, set[int]] = {}
        for chunk in chunks:
            index = int(chunk.metadata.get("chunk_index", -1))
            wanted.setdefault(chunk.file, set()).update((index - 1, index + 1))
        clauses = [
            {"$and": [{"file": file}, {"chunk_index": {"$in": sorted(indexes)}}]}
            for file, indexes in wanted.items()
        ]
        if not clauses:
            return []
        where = clauses[0] if len(clauses) == 1 else {"$or": clauses}
        got = self.collection.get(where=where, include=["metadatas", "documents"])  # type: ignore[arg-type]
        return [from_record(*row) for row in zip(got["ids"], got["metadatas"], got["documents"])]

    @reachable
    def orphans(self) -> tuple[dict[str, set[str]], set[str]]:
        """Chunks whose file has no record (a write that failed half-way), by file; and
        records of files with no chunks."""
        chunks = {file: ids for file, (_, ids) in self.file_chunk_ids().items()}
        recorded = self.file_names()
        return (
            {f: ids for f, ids in chunks.items() if f not in recorded},
            {f for f in recorded if f not in chunks},
        )

    @reachable
    def count(self) -> int:
        return self.collection.count()

    @reachable
    def version(self) -> str:
        """Changes whenever the corpus changes, so readers know to rebuild derived indexes.

        Re-read from the store at most once a second: another process's ingest (a CLI run
        beside a server) shows within that second, at one metadata read a second.
        """
        now = time.monotonic()
        if now - self._version_read >= _VERSION_TTL_SECONDS:
            fresh = self.client.get_collection(self.collection.name).metadata or {}
            seen = str(fresh.get(_VERSION_KEY, ""))
            if self._version and seen != self._version and not self.settings.chroma_server:
                self.reopen()  # another process wrote: our embedded client's segments are stale
            self._version, self._version_read = seen, now
        return self._version

    @reachable
    def bump_version(self) -> None:
        meta = {
            k: v for k, v in (self.collection.metadata or {}).items() if not k.startswith("hnsw:")
        }
        meta[_VERSION_KEY] = uuid.uuid4().hex
        self.collection.modify(metadata=meta)
        self._version, self._version_read = meta[_VERSION_KEY], time.monotonic()

    def _scan(self, include: list[str], page: int = 5000):  # type: ignore[no-untyped-def]
        offset = 0
        while True:
            got = self.collection.get(include=include, limit=page, offset=offset)  # type: ignore[arg-type]
            if not got["ids"]:
                return
            yield from zip(got["ids"], got["metadatas"])
            offset += len(got["ids"])

    def _file_records(self, page: int = 5000) -> list[tuple[str, dict]]:
        """Every file record (name, metadata), in pages: one get of tens of thousands of
        records overflows SQLite's limit on query variables."""
        records: list[tuple[str, dict]] = []
        while True:
            got = self.files.get(include=["metadatas"], limit=page, offset=len(records))  # type: ignore[list-item]
            if not got["ids"]:
                return records
            records += [(f, dict(m or {})) for f, m in zip(got["ids"], got["metadatas"])]  # type: ignore[arg-type]

    def _scan_full(self, page: int = 5000):  # type: ignore[no-untyped-def]
        offset = 0
        while True:
            got = self.collection.get(include=["metadatas", "documents"], limit=page, offset=offset)
            if not got["ids"]:
                return
            yield from zip(got["ids"], got["metadatas"], got["documents"])
            offset += len(got["ids"])
