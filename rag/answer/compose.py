"""An answer object from verified sentences: the text with its markers, the sources, or an
abstention."""

import time

from rag.answer.generate import ABSTAIN_TEXT
from rag.core.models import Answer, AnswerSentence, Hit, Source


def compose(
    question: str,
    mode: str,
    sentences: list[AnswerSentence],
    hits: list[Hit],
    fallback: str | None,
    timings: dict[str, float],
    short: str | None = None,
    confidence: float | None = None,
) -> Answer:
    kept = [s for s in sentences if s.supported]
    if not kept:
        answer = abstain(question, mode, timings, None, fallback, sentences)
        answer.confidence = confidence
        return answer
    text = " ".join(f"{s.text} {''.join(c.marker for c in s.citations)}" for s in kept)
    short = short if short and any(short in s.text for s in kept) else None
    if short and len(short) < 0.8 * len(kept[0].text):
        text = f"{short}. {text}" if short[-1:].isalnum() else f"{short} {text}"
    cited = {c.file for s in kept for c in s.citations}
    sources = [source for source in sources_of(hits) if source.file in cited]
    return Answer(
        question=question,
        answer=text,
        abstained=False,
        mode=mode,
        sentences=sentences,
        sources=sources,
        fallback=fallback,
        short_answer=short,
        confidence=confidence,
        timings=timings,
    )


def abstain(
    question: str,
    mode: str,
    timings: dict[str, float],
    began: float | None,
    fallback: str | None = None,
    sentences: list[AnswerSentence] | None = None,
) -> Answer:
    if began is not None:
        timings["total_ms"] = ms(began)
    return Answer(
        question=question,
        answer=ABSTAIN_TEXT,
        abstained=True,
        mode=mode,
        sentences=sentences or [],
        fallback=fallback,
        timings=timings,
    )


def sources_of(hits: list[Hit]) -> list[Source]:
    """One source per file among the hits, best hit first."""
    seen: dict[str, Source] = {}
    for hit in hits:
        seen.setdefault(hit.chunk.file, Source.from_meta(hit.chunk.file, hit.chunk.metadata))
    return list(seen.values())


def ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 1)
