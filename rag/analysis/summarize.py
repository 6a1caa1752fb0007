"""Extractive summaries of a file, a set or the corpus: salient, non-redundant, cited sentences."""

import numpy as np

from rag.answer.evidence import SentenceVectors, is_news_sentence
from rag.core.models import AnswerSentence, Chunk, Span

REDUNDANT = 0.75  # cosine above which two sentences say the same thing
LEAD_BONUS = 0.15  # news puts what matters first


def select_summary_sentences(
    chunks: list[Chunk], vectors: SentenceVectors, length: int
) -> list[list[Span]]:
    """Sentence groups to summarise with: one point each, its members every file that says it.

    Salience is similarity to the centroid of all sentences plus a bonus for coming early in its
    article; a candidate too close to a chosen point joins that point instead of repeating it.
    """
    spans = _unique_sentences(chunks)
    if not spans:
        return []
    matrix = vectors.embed([span.text for span in spans])
    centroid = matrix.mean(axis=0)
    centroid /= np.linalg.norm(centroid) or 1.0
    salience = matrix @ centroid + LEAD_BONUS * _lead_position(spans)
    points: list[list[int]] = []
    for i in np.argsort(-salience):
        close = [p for p in points if float(np.max(matrix[p] @ matrix[i])) >= REDUNDANT]
        if close:
            if spans[i].file not in {spans[j].file for j in close[0]}:
                close[0].append(int(i))
        elif len(points) < length:
            points.append([int(i)])
    points.sort(key=lambda point: _earliest(point, spans))
    return [[spans[i] for i in point] for point in points]


def _earliest(point: list[int], spans: list[Span]) -> tuple[str, int]:
    """Order points by the earliest dated article reporting them (undated last), then position."""
    dates = [d for i in point if (d := spans[i].chunk.metadata.get("date"))]
    return (min(dates) if dates else "9999", spans[point[0]].start)


def _unique_sentences(chunks: list[Chunk]) -> list[Span]:
    seen: dict[tuple[str, int], Span] = {}
    for chunk in chunks:
        for span in chunk.spans():
            if is_news_sentence(span.text):
                seen.setdefault((span.file, span.start), span)
    return list(seen.values())


def _lead_position(spans: list[Span]) -> np.ndarray:
    """1.0 for a file's first sentence, falling to 0.0 for its last."""
    order: dict[str, list[int]] = {}
    for span in spans:
        order.setdefault(span.file, []).append(span.start)
    ranks = []
    for span in spans:
        starts = sorted(order[span.file])
        ranks.append(1.0 - starts.index(span.start) / max(1, len(starts) - 1))
    return np.asarray(ranks)


def batch_chunks(chunks: list[Chunk], budget: int) -> list[list[Chunk]]:
    """Consecutive chunks grouped so each group's text fits the budget (one chunk at least)."""
    batches: list[list[Chunk]] = [[]]
    used = 0
    for chunk in chunks:
        if batches[-1] and used + len(chunk.text) > budget:
            batches.append([])
            used = 0
        batches[-1].append(chunk)
        used += len(chunk.text)
    return [b for b in batches if b]


def reduce_summary(
    sentences: list[AnswerSentence], vectors: SentenceVectors, length: int
) -> list[AnswerSentence]:
    """The most central sentences, near-duplicates left out, in their original order."""
    if not sentences:
        return []
    matrix = vectors.embed([s.text for s in sentences])
    centroid = matrix.mean(axis=0)
    chosen: list[int] = []
    for i in np.argsort(-(matrix @ centroid)):
        if len(chosen) >= length:
            break
        if all(float(matrix[i] @ matrix[j]) < REDUNDANT for j in chosen):
            chosen.append(int(i))
    return [sentences[i] for i in sorted(chosen)]
