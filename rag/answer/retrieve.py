"""Hybrid retrieval: dense (Chroma) and BM25 (bm25s) rankings fused by reciprocal rank."""

import json
import logging
import math
import os
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import bm25s
import numpy as np

from rag.core.models import Chunk, Hit
from rag.core.text import content_terms
from rag.index.embedding import Embedder
from rag.index.store import ChunkStore, Filters

log = logging.getLogger(__name__)
# Bumped whenever content_terms changes (stopwords, stemming): older saved indexes are rebuilt.
TERMS_FORMAT = 2
logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets itself to DEBUG on import


def reciprocal_rank_fusion(rankings: Sequence[Sequence[str]], k: int = 60) -> dict[str, float]:
    """Fused score per id: the sum over rankings of 1 / (k + rank), rank starting at 1."""
    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k + rank)
    return fused


class LexicalIndex:
    """BM25 over every chunk's content words; rebuilt when the store's version changes."""

    def __init__(self, chunks: list[Chunk], terms: list[list[str]] | None = None):
        self.chunks = chunks
        self.bm25 = bm25s.BM25()
        corpus = terms or [content_terms(c.text) or ["_"] for c in chunks]
        self.terms = corpus
        if chunks:
            self.bm25.index(corpus, show_progress=False)
        self.document_frequency = Counter(t for terms in corpus for t in set(terms))

    def idf(self, term: str) -> float:
        """How rare a term is across chunks; a term no chunk has is rarest of all."""
        n, df = len(self.chunks), self.document_frequency.get(term, 0)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def search(self, question: str, k: int, filters: Filters | None) -> list[tuple[Chunk, float]]:
        terms = content_terms(question)
        if not self.chunks or not terms:
            return []
        scores = self.bm25.get_scores(terms)
        if filters:
            keep = np.array([filters.matches({**c.metadata, "file": c.file}) for c in self.chunks])
            scores = np.where(keep, scores, 0.0)
        top = np.argsort(-scores)[:k]
        return [(self.chunks[i], float(scores[i])) for i in top if scores[i] > 0]


class HybridRetriever:
    """Dense and lexical candidates, fused; the lexical index follows the store's version."""

    def __init__(
        self,
        store: ChunkStore,
        embedder: Embedder,
        candidates: int,
        rrf_k: int,
        cache: Path | None = None,
    ):
        self.store = store
        self.cache = cache
        self.embedder = embedder
        self.candidates = candidates
        self.rrf_k = rrf_k
        self._lexical: LexicalIndex | None = None
        self._version: str | None = None
        self._lock = threading.Lock()

    def lexical(self) -> LexicalIndex:
        """The BM25 index, rebuilt if the corpus changed since it was built."""
        version = self.store.version()
        with self._lock:
            if self._lexical is None or version != self._version:
                self._lexical = self._saved(version) or self._build(version)
                self._version = version
            return self._lexical

    def _build(self, version: str) -> LexicalIndex:
        index = LexicalIndex(self.store.all_chunks())
        if self.cache:
            _save_lexical(self.cache, version, index)
        return index

    def _saved(self, version: str) -> LexicalIndex | None:
        """The index a process saved for this very version of the corpus, if any."""
        if not self.cache or not version:
            return None
        try:
            saved = json.loads(self.cache.read_text(encoding="utf-8"))
            if not isinstance(saved, dict) or saved.get("version") != version:
                return None
            if saved.get("terms_format") != TERMS_FORMAT:  # saved by a different tokenizer
                return None
            chunks = [
                Chunk(**{**c, "sentences": [(int(a), int(b)) for a, b in c["sentences"]]})
                for c in saved["chunks"]
            ]
            terms = saved["terms"]
            if len(terms) != len(chunks) or not all(
                isinstance(t, list) and all(isinstance(w, str) for w in t) for t in terms
            ):
                raise ValueError("terms do not match the chunks")
            return LexicalIndex(chunks, terms)
        except OSError:
            return None
        except (ValueError, TypeError, KeyError, AttributeError) as err:
            # A damaged or hand-edited file: rebuilt from the store (and saved again).
            log.warning(
                "the saved keyword index %s is unusable (%s); rebuilding it", self.cache, err
            )
            return None

    def retrieve(self, question: str, top_k: int, filters: Filters | None = None) -> list[Hit]:
        """The top_k chunks for the question, best first."""
        keywords = self.lexical()  # first: it notices (and reopens on) another process's writes
        vector = self.embedder.embed([question])[0]
        dense = self.store.query(vector, self.candidates, filters)
        lexical = keywords.search(question, self.candidates, filters)
        fused = reciprocal_rank_fusion(
            [[c.id for c, _ in dense], [c.id for c, _ in lexical]], self.rrf_k
        )
        chunks = {c.id: c for c, _ in [*lexical, *dense]}
        dense_score = {c.id: s for c, s in dense}
        bm25_score = {c.id: s for c, s in lexical}
        ranked = sorted(fused, key=lambda cid: -fused[cid])[:top_k]
        return [
            Hit(chunks[cid], fused[cid], dense_score.get(cid), bm25_score.get(cid))
            for cid in ranked
        ]


def _save_lexical(path: Path, version: str, index: LexicalIndex) -> None:
    """Chunks and their terms, so a new process loads them instead of re-reading the store."""
    if not version:
        return
    saved = {
        "version": version,
        "terms_format": TERMS_FORMAT,
        "chunks": [asdict(c) for c in index.chunks],
        "terms": index.terms,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_suffix(f".{os.getpid()}.tmp")
    temp.write_text(json.dumps(saved), encoding="utf-8")
    os.replace(temp, path)
