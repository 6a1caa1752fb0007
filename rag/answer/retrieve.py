"""Hybrid retrieval: dense (Chroma) and keyword (BM25) rankings fused by reciprocal rank."""

from collections.abc import Sequence
from pathlib import Path

from rag.answer.evidence import name_phrases
from rag.core.models import Chunk, Hit
from rag.core.text import content_terms, without_question_form
from rag.index.embedding import Embedder
from rag.index.keywords import KeywordIndex, KeywordKeeper
from rag.index.store import ChunkStore, Filters


def reciprocal_rank_fusion(rankings: Sequence[Sequence[str]], k: int = 60) -> dict[str, float]:
    """Fused score per id: the sum over rankings of 1 / (k + rank), rank starting at 1."""
    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k + rank)
    return fused


LEAD = 2.0  # a keyword hit scoring this many times the next one is kept whatever the fusion


def with_decisive_lead(
    ranked: list[str], lexical: Sequence[tuple[str, float]], top_k: int
) -> list[str]:
    """The top_k of the fused ranking, with BM25's first hit in it when it leads the second by
    LEAD times: reciprocal rank fusion ignores by how much a chunk leads, and the one chunk
    that names "Marcus Adeyemi" (BM25's first at five times the second's score, absent from the
    dense top 30) fell behind chunks half-way down both lists."""
    chosen = ranked[:top_k]
    if not lexical or not top_k or lexical[0][0] in chosen:
        return chosen
    second = lexical[1][1] if len(lexical) > 1 else 0.0
    if lexical[0][1] < LEAD * second:
        return chosen
    return sorted([*chosen[: top_k - 1], lexical[0][0]], key=ranked.index)


class HybridRetriever:
    """Dense and lexical candidates, fused; the lexical index follows the store's version."""

    def __init__(
        self,
        store: ChunkStore,
        embedder: Embedder,
        candidates: int,
        rrf_k: int,
        cache: Path | None = None,
        background_share: float = 0.0,
    ):
        self.store = store
        self.background_share = background_share
        self.cache = cache
        self.embedder = embedder
        self.candidates = candidates
        self.rrf_k = rrf_k
        self.keywords = KeywordKeeper(store, cache)

    def lexical(self) -> KeywordIndex:
        """The BM25 index of the store's current version."""
        return self.keywords.current()

    def keyword_search(
        self,
        question: str,
        k: int,
        filters: Filters | None = None,
        known: Sequence[tuple[Chunk, float]] = (),
    ) -> list[tuple[Chunk, float]]:
        """The k best keyword (BM25) hits as chunks: those not already known (from the dense
        side) are read from the store; a chunk deleted since the index was built is left out."""
        found = self.lexical().search(question, k, filters)
        have = {c.id: c for c, _ in known}
        missing = [cid for cid, _ in found if cid not in have]
        have.update((c.id, c) for c in self.store.chunks_by_id(missing))
        return [(have[cid], score) for cid, score in found if cid in have]

    def retrieve(self, question: str, top_k: int, filters: Filters | None = None) -> list[Hit]:
        """The top_k chunks for the question, best first."""
        self.lexical()  # first: it notices (and reopens on) another process's writes
        vector = self.embedder.embed([question])[0]
        dense = self.store.query(vector, self.candidates, filters)
        words = without_question_form(question)  # "how many": no word to look for
        lexical = self.keyword_search(words, self.candidates, filters, dense)
        rankings = [[c.id for c, _ in dense], [c.id for c, _ in lexical]]
        aside: list[tuple[Chunk, float]] = []
        if foreground := self.without_background(question):
            aside = self.store.query(self.embedder.embed([foreground])[0], self.candidates, filters)
            rankings.append([c.id for c, _ in aside])
        fused = reciprocal_rank_fusion(rankings, self.rrf_k)
        chunks = {c.id: c for c, _ in [*aside, *lexical, *dense]}
        dense_score = {c.id: s for c, s in dense}
        bm25_score = {c.id: s for c, s in lexical}
        ranked = with_decisive_lead(
            sorted(fused, key=lambda cid: -fused[cid]), [(c.id, s) for c, s in lexical], top_k
        )
        return [
            Hit(chunks[cid], fused[cid], dense_score.get(cid), bm25_score.get(cid))
            for cid in ranked
        ]

    def without_background(self, question: str) -> str | None:
        """The question without the names most passages hold ("Who is the manager of Kestlewick
        Athletic?" in a corpus about that club: "Who is the manager of?"), whose embedding
        they dominate; None when it names none or nothing would be left."""
        if not self.background_share:
            return None
        index = self.lexical()
        common = [
            name
            for name in name_phrases(question)
            if index.frequency(name) >= self.background_share * max(1, index.chunk_count)
        ]
        rest = question
        for name in common:
            rest = rest.replace(name, " ")
        rest = " ".join(rest.split())
        return rest if common and content_terms(without_question_form(rest)) else None
