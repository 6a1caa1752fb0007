"""Check every answer sentence against the passages it cites."""

from dataclasses import dataclass

import numpy as np

from rag.answer.evidence import SentenceVectors
from rag.core.models import AnswerSentence, Chunk, Citation, Span
from rag.core.text import (
    NEGATIONS,
    QUANTITY_WORDS,
    content_terms,
    numbers,
    proper_names,
    stem,
    words,
)

MIN_COVERAGE = 0.6


@dataclass
class Verdict:
    supported: bool
    reason: str | None = None


def check_support(
    claim: str, passages: list[str], similarity: float, threshold: float, closest: str = ""
) -> Verdict:
    """Is the claim supported by these passages: numbers, names, content words, meaning, and
    (against `closest`, the cited sentences nearest in meaning) negation?"""
    if not passages:
        return Verdict(False, "cites no retrieved passage")
    if claim.rstrip().endswith("?") or claim.lower().startswith(("question:", "answer:")):
        return Verdict(False, "not a statement (an echoed question or label)")
    source = " ".join(passages)
    missing_numbers = numbers(claim) - numbers(source)
    if missing_numbers:
        shown = ", ".join(f"{n:g}" for n in sorted(missing_numbers))
        return Verdict(False, f"numbers not in the cited passages: {shown}")
    source_words = set(words(source)) | set(content_terms(source))
    missing_names = {
        n for n in proper_names(claim) if n not in source_words and stem(n) not in source_words
    }
    if missing_names:
        return Verdict(
            False, f"names not in the cited passages: {', '.join(sorted(missing_names))}"
        )
    said = set(words(claim))
    added = sorted((said & QUANTITY_WORDS) - set(words(source)))
    if added:
        return Verdict(False, f"quantity words not in the cited passages: {', '.join(added)}")
    if closest and said & NEGATIONS and not set(words(closest)) & NEGATIONS:
        return Verdict(False, "negates what the cited passage states")
    terms = set(content_terms(claim))
    if terms:
        coverage = len(terms & set(content_terms(source))) / len(terms)
        if coverage < MIN_COVERAGE:
            return Verdict(
                False, f"only {coverage:.0%} of its content words are in the cited passages"
            )
    if similarity < threshold:
        return Verdict(
            False, f"meaning too far from the cited passages ({similarity:.2f} < {threshold:.2f})"
        )
    return Verdict(True)


class Verifier:
    """Marks each sentence supported or not, and points each citation at its best-matching span."""

    def __init__(self, vectors: SentenceVectors, threshold: float):
        self.vectors = vectors
        self.threshold = threshold

    def verify(self, claim: str, chunks: list[Chunk]) -> AnswerSentence:
        """A verified sentence citing the best span of each chunk it names."""
        spans = [span for c in chunks for span in c.spans()]
        if not spans:
            verdict = check_support(claim, [], 0.0, self.threshold)
            return AnswerSentence(text=claim, supported=False, reason=verdict.reason)
        matrix = self.vectors.embed([claim] + [span.text for span in spans])
        sims = matrix[1:] @ matrix[0]
        citations = [_best_span(chunk, spans, sims) for chunk in _unique(chunks)]
        similarity = float(np.max(sims))
        if similarity < self.threshold:  # only then can sentence pairs change the verdict
            similarity = max(similarity, self._whole_passage_similarity(claim, chunks))
        nearest = " ".join(spans[int(i)].text for i in np.argsort(-sims)[:2])
        verdict = check_support(
            claim, [c.text for c in chunks], similarity, self.threshold, nearest
        )
        return AnswerSentence(
            text=claim, supported=verdict.supported, reason=verdict.reason, citations=citations
        )

    def attribute(self, claim: str, candidates: list[Chunk]) -> AnswerSentence:
        """Verify an uncited claim against the retrieved passage closest to it."""
        spans = [span for c in candidates for span in c.spans()]
        if not spans:
            return self.verify(claim, [])
        matrix = self.vectors.embed([claim] + [span.text for span in spans])
        closest = spans[int(np.argmax(matrix[1:] @ matrix[0]))].chunk
        sentence = self.verify(claim, [closest])
        sentence.attributed = True
        return sentence

    def _whole_passage_similarity(self, claim: str, chunks: list[Chunk]) -> float:
        # A claim may merge two sentences of a passage; compare it with sentence pairs too.
        pairs = []
        for chunk in chunks:
            texts = [span.text for span in chunk.spans()]
            pairs += [f"{a} {b}" for a, b in zip(texts, texts[1:])]
        if not pairs:
            return 0.0
        matrix = self.vectors.embed([claim] + pairs)
        return float(np.max(matrix[1:] @ matrix[0]))


def _best_span(chunk: Chunk, spans: list[Span], sims: np.ndarray) -> Citation:
    best = max(
        (i for i, span in enumerate(spans) if span.chunk is chunk), key=lambda i: float(sims[i])
    )
    return spans[best].cite(float(sims[best]))


def _unique(chunks: list[Chunk]) -> list[Chunk]:
    return list({c.id: c for c in chunks}.values())
