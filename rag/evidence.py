"""Score the sentences of retrieved chunks as evidence for a question."""

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rag.embedding import Embedder
from rag.models import Chunk, Citation, Hit
from rag.text import content_terms, numbers, proper_names

SIMILARITY_WEIGHT = 0.65


@dataclass
class Evidence:
    """One sentence of a retrieved chunk, scored against the question."""

    chunk: Chunk
    start: int
    end: int
    text: str
    similarity: float
    overlap: float
    vector: np.ndarray

    @property
    def score(self) -> float:
        return SIMILARITY_WEIGHT * self.similarity + (1 - SIMILARITY_WEIGHT) * self.overlap

    def citation(self) -> Citation:
        return self.chunk.cite(self.start, self.end, self.similarity)


class SentenceVectors:
    """Embeddings of short texts, cached: the same sentences come back query after query."""

    def __init__(self, embedder: Embedder, capacity: int = 50_000):
        self.embedder = embedder
        self.capacity = capacity
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()

    def embed(self, texts: list[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            for text, vector in zip(missing, self.embedder.embed(missing)):
                self._cache[text] = vector
            while len(self._cache) > self.capacity:
                self._cache.popitem(last=False)
        return np.stack([self._cache[t] for t in texts]) if texts else np.zeros((0, 384))


def is_full_sentence(text: str) -> bool:
    """A sentence rather than a heading or a caption: ends like one and has a few words."""
    return len(text.split()) >= 4 and text.rstrip("\"'”’)]").endswith((".", "!", "?", "…"))


def term_overlap(question: str, sentence: str, idf: Callable[[str], float] = lambda t: 1.0) -> float:
    """Share of the question's content words in the sentence, weighted by rarity in the corpus.

    Names and numbers count double. A question word no article uses weighs most: a sentence
    that lacks it cannot be the answer, however similar it sounds.
    """
    terms = set(content_terms(question))
    if not terms:
        return 0.0
    heavy = set(content_terms(" ".join(proper_names(question)))) | {
        t for t in terms if t[:1].isdigit()
    }
    found = set(content_terms(sentence))
    weight = {t: idf(t) * (2.0 if t in heavy else 1.0) for t in terms}
    hit = sum(w for t, w in weight.items() if t in found)
    if numbers(question) and not numbers(question) & numbers(sentence):
        hit *= 0.8
    return hit / sum(weight.values())


def score_evidence(question: str, hits: list[Hit], vectors: SentenceVectors,
                   idf: Callable[[str], float] = lambda t: 1.0) -> list[Evidence]:
    """Every full sentence of the hits (headings left out), best evidence first."""
    spans = [
        (hit.chunk, s, e, t)
        for hit in hits
        for s, e, t in hit.chunk.sentence_texts()
        if is_full_sentence(t)
    ]
    if not spans:
        return []
    matrix = vectors.embed([question] + [t for *_, t in spans])
    sims = matrix[1:] @ matrix[0]
    found = [
        Evidence(chunk, s, e, t, float(sim), term_overlap(question, t, idf), vec)
        for (chunk, s, e, t), sim, vec in zip(spans, sims, matrix[1:])
    ]
    return sorted(found, key=lambda ev: -ev.score)
