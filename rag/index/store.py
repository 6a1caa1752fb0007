"""Chunks in Chroma, through llama-index's Chroma vector store: embedded on disk or a server."""

import functools
import json
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Concatenate, ParamSpec, TypeVar

import chromadb
import httpx
import numpy as np
from chromadb.config import Settings as ChromaSettings
from llama_index.core.schema import BaseNode, TextNode
from llama_index.core.vector_stores.types import (
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
)
from llama_index.vector_stores.chroma import ChromaVectorStore

from rag.core.errors import BadInput, DiskFull, IndexDamaged, RagError, StoreUnavailable
from rag.core.models import Chunk, DocumentInfo, Source
from rag.core.settings import Settings
from rag.ingest.loaders import Document, parse_date

_VERSION_KEY = "rag_version"
_EMBEDDER_KEY = "rag_embedder"
_VERSION_TTL_SECONDS = 1.0
_P = ParamSpec("_P")
_R = TypeVar("_R")


@dataclass
class Filters:
    """Restrict retrieval to some files, outlets or a date range (ISO dates, inclusive)."""

    files: list[str] | None = None
    outlets: list[str] | None = None
    date_from: str | None = None
    date_to: str | None = None

    def checked(self) -> "Filters":
        """These filters with their dates normalised; BadInput for a bad or reversed range."""
        try:
            since = iso_date(self.date_from) if self.date_from else None
            until = iso_date(self.date_to) if self.date_to else None
        except ValueError as err:
            raise BadInput(str(err)) from None
        if since and until and since > until:
            raise BadInput(f"the date range is reversed: {since} is after {until}")
        return Filters(self.files, self.outlets, since, until)

    def matches(self, meta: dict) -> bool:
        """The same test the store applies, for retrievers that filter in memory."""
        if self.files and meta.get("file") not in self.files:
            return False
        if self.outlets and meta.get("outlet") not in self.outlets:
            return False
        day = int(meta.get("date_int") or 0)
        if self.date_from and day < _day(self.date_from):
            return False
        return not (self.date_to and (day == 0 or day > _day(self.date_to)))

    def to_llama(self) -> MetadataFilters | None:
        rules: list[MetadataFilter] = []
        if self.files:
            rules.append(MetadataFilter(key="file", value=self.files, operator=FilterOperator.IN))
        if self.outlets:
            rules.append(
                MetadataFilter(key="outlet", value=self.outlets, operator=FilterOperator.IN)
            )
        if self.date_from:
            rules.append(
                MetadataFilter(
                    key="date_int", value=_day(self.date_from), operator=FilterOperator.GTE
                )
            )
        if self.date_to:
            rules.append(
                MetadataFilter(
                    key="date_int", value=_day(self.date_to), operator=FilterOperator.LTE
                )
            )
            rules.append(MetadataFilter(key="date_int", value=0, operator=FilterOperator.GT))
        return MetadataFilters(filters=rules) if rules else None  # type: ignore[arg-type]


def iso_date(value: str) -> str:
    """A date as YYYY-MM-DD, from that form, an unpadded one (2024-12-5) or a written one
    (Dec 5 2024); ValueError naming the value otherwise (2024-99-99 included)."""
    text = value.strip()
    if match := re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text):
        try:
            return date(*map(int, match.groups())).isoformat()
        except ValueError:
            raise ValueError(f"{value!r} is not a calendar date") from None
    parsed = parse_date(text) if text else None
    if parsed is None:
        raise ValueError(f"{value!r} is not a date: use YYYY-MM-DD")
    return parsed


def _day(iso: str) -> int:
    return int(iso.replace("-", "")[:8])


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


def _disk_full(err: BaseException) -> bool:
    text = str(err).lower()
    return "disk is full" in text or "no space left" in text or getattr(err, "errno", 0) == 28


def _reachable(
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
            if _disk_full(err):
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
        self.client = _connect(settings)
        try:
            self.collection = self.client.get_or_create_collection(
                settings.collection,
                metadata={"hnsw:space": "cosine", _EMBEDDER_KEY: self.embedder_name},
            )
            self.files = self.client.get_or_create_collection(
                f"{settings.collection}_files", metadata={"hnsw:space": "cosine"}
            )
        except Exception as err:
            if _disk_full(err):
                raise DiskFull(f"the disk under {self.where} is full: {err}") from err
            raise IndexDamaged(
                f"cannot open the Chroma collection at {self.where} "
                f"({type(err).__name__}: {str(err)[:200]}); run `rag doctor` to check it"
            ) from err
        built_with = (self.collection.metadata or {}).get(_EMBEDDER_KEY, self.embedder_name)
        if built_with != self.embedder_name:
            raise BadInput(
                f"collection {settings.collection!r} was built with embeddings from {built_with}, "
                f"but {self.embedder_name} is configured: use another RAG_COLLECTION or "
                "RAG_DATA_DIR"
            )
        self.vectors = ChromaVectorStore(chroma_collection=self.collection)
        self.generation += 1

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

    @_reachable
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

    @_reachable
    def drop_file(self, file: str) -> None:
        self.files.delete(ids=[file])

    @_reachable
    def file_names(self) -> set[str]:
        return set(self.files.get(include=[])["ids"])

    @_reachable
    def file_origins(self) -> dict[str, str]:
        """Where each recorded file came from ("" for files indexed before origins were kept)."""
        got = self.files.get(include=["metadatas"])
        return {f: str((m or {}).get("origin") or "") for f, m in zip(got["ids"], got["metadatas"])}

    @_reachable
    def file_text(self, file: str) -> tuple[str, DocumentInfo] | None:
        """A file's text (the one citation offsets point into) and its metadata."""
        got = self.files.get(ids=[file], include=["documents", "metadatas"])
        if not got["ids"]:
            return None
        return got["documents"][0], _info(file, got["metadatas"][0])

    @_reachable
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

    @_reachable
    def add(self, chunks: list[Chunk], embeddings: np.ndarray) -> None:
        """Write chunks with their embeddings (ids already present are overwritten)."""
        nodes: list[BaseNode] = [_to_node(c, v) for c, v in zip(chunks, embeddings)]
        for i in range(0, len(nodes), 2000):
            self.vectors.add(nodes[i : i + 2000])

    @_reachable
    def delete(self, ids: list[str]) -> None:
        for i in range(0, len(ids), 2000):
            self.vectors.delete_nodes(node_ids=ids[i : i + 2000])

    @_reachable
    def query(
        self, vector: np.ndarray, k: int, filters: Filters | None
    ) -> list[tuple[Chunk, float]]:
        """The k nearest chunks and their cosine similarity."""
        query = VectorStoreQuery(
            query_embedding=vector.tolist(),
            similarity_top_k=k,
            filters=filters.to_llama() if filters else None,
        )
        result = self.vectors.query(query)
        sims = [1.0 + float(np.log(max(s, 1e-12))) for s in result.similarities or []]
        # A chunk another process deleted a moment ago can still come back without its metadata.
        return [
            (_from_node(node), sim)
            for node, sim in zip(result.nodes or [], sims)
            if "file" in (node.metadata or {})
        ]

    @_reachable
    def file_chunk_ids(self) -> dict[str, tuple[str, set[str]]]:
        """For each indexed file: its content hash and the ids of its chunks."""
        files: dict[str, tuple[str, set[str]]] = {}
        for chunk_id, meta in self._scan(["metadatas"]):
            sha, ids = files.setdefault(meta["file"], (meta.get("file_sha256", ""), set()))
            ids.add(chunk_id)
        return files

    @_reachable
    def documents(self) -> list[DocumentInfo]:
        """Every indexed file with its metadata and chunk count."""
        got = self.files.get(include=["metadatas"])
        docs = [_info(file, meta) for file, meta in zip(got["ids"], got["metadatas"])]
        return sorted(docs, key=lambda d: d.file)

    @_reachable
    def all_chunks(self) -> list[Chunk]:
        """Every chunk (for the lexical index and document listings)."""
        return [_from_record(cid, meta, text) for cid, meta, text in self._scan_full()]

    @_reachable
    def chunks_of(self, file: str) -> list[Chunk]:
        got = self.collection.get(where={"file": file}, include=["metadatas", "documents"])
        chunks = [_from_record(*row) for row in zip(got["ids"], got["metadatas"], got["documents"])]
        return sorted(chunks, key=lambda c: c.start)

    @_reachable
    def neighbours(self, chunk: Chunk) -> list[Chunk]:
        """The chunks just before and after this one in its file."""
        index = int(chunk.metadata.get("chunk_index", -1))
        where = {"$and": [{"file": chunk.file}, {"chunk_index": {"$in": [index - 1, index + 1]}}]}
        got = self.collection.get(where=where, include=["metadatas", "documents"])  # type: ignore[dict-item]
        return [_from_record(*row) for row in zip(got["ids"], got["metadatas"], got["documents"])]

    @_reachable
    def orphans(self) -> tuple[dict[str, set[str]], set[str]]:
        """Chunks whose file has no record (a write that failed half-way), by file; and
        records of files with no chunks."""
        chunks = {file: ids for file, (_, ids) in self.file_chunk_ids().items()}
        recorded = self.file_names()
        return (
            {f: ids for f, ids in chunks.items() if f not in recorded},
            {f for f in recorded if f not in chunks},
        )

    @_reachable
    def count(self) -> int:
        return self.collection.count()

    @_reachable
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

    @_reachable
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

    def _scan_full(self, page: int = 5000):  # type: ignore[no-untyped-def]
        offset = 0
        while True:
            got = self.collection.get(include=["metadatas", "documents"], limit=page, offset=offset)
            if not got["ids"]:
                return
            yield from zip(got["ids"], got["metadatas"], got["documents"])
            offset += len(got["ids"])


def _info(file: str, meta: dict) -> DocumentInfo:
    source = Source.from_meta(file, meta).model_dump()
    return DocumentInfo(**source, chunks=int(meta.get("chunks") or 0))


def _connect(settings: Settings):  # type: ignore[no-untyped-def]
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    server = settings.chroma_server
    try:
        if server:
            from urllib.parse import urlparse

            url = urlparse(server)
            # chromadb's own HTTP client never times out: a frozen server would hang every caller.
            timeout = httpx.Timeout(
                settings.chroma_timeout, connect=min(5.0, settings.chroma_timeout)
            )
            httpx.get(f"{server.rstrip('/')}/api/v2/heartbeat", timeout=timeout).raise_for_status()
            client = chromadb.HttpClient(
                host=url.hostname or "127.0.0.1",
                port=url.port or 8000,
                ssl=url.scheme == "https",
                settings=chroma_settings,
            )
            session = getattr(getattr(client, "_server", None), "_session", None)
            if isinstance(session, httpx.Client):  # a private attribute: tests/test_faults.py
                session.timeout = timeout
            return client
        path = settings.data_dir / "chroma"
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as err:
        if server:
            raise StoreUnavailable(f"cannot reach the Chroma store at {server}: {err}") from err
        if _disk_full(err):
            raise DiskFull(f"the disk under {settings.data_dir} is full: {err}") from err
        raise IndexDamaged(
            f"cannot open the index at {settings.data_dir / 'chroma'} "
            f"({type(err).__name__}: {str(err)[:200]}); run `rag doctor`"
        ) from err


def _to_node(chunk: Chunk, vector: np.ndarray) -> TextNode:
    metadata = {
        **chunk.metadata,
        "file": chunk.file,
        "start": chunk.start,
        "end": chunk.end,
        "line": chunk.line,
        "sentences": json.dumps(chunk.sentences),
    }
    return TextNode(
        id_=chunk.id,
        text=chunk.text,
        metadata=metadata,
        embedding=vector.tolist(),
        excluded_embed_metadata_keys=list(metadata),
        excluded_llm_metadata_keys=list(metadata),
    )


def _from_node(node) -> Chunk:  # type: ignore[no-untyped-def]
    return _from_record(node.node_id, node.metadata, node.get_content())


def _from_record(chunk_id: str, meta: dict, text: str) -> Chunk:
    keep = {k: v for k, v in meta.items() if not k.startswith("_") and k not in _POSITIONAL}
    return Chunk(
        id=chunk_id,
        file=meta["file"],
        text=text,
        start=int(meta["start"]),
        end=int(meta["end"]),
        line=int(meta["line"]),
        sentences=[tuple(s) for s in json.loads(meta["sentences"])],  # type: ignore[misc]
        metadata=keep,
    )


_POSITIONAL = {"file", "start", "end", "line", "sentences", "document_id", "doc_id", "ref_doc_id"}
