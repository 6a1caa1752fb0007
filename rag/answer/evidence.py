"""Score the sentences of retrieved chunks as evidence for a question."""

import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rag.core.models import Hit, Span
from rag.core.text import (
    SPEECH_VERBS,
    STOPWORDS,
    content_terms,
    is_editorial_note,
    numbers,
    proper_names,
)
from rag.index.embedding import Embedder
from rag.ingest.injection import addressed_to_reader

SIMILARITY_WEIGHT = 0.65
ADDRESSED_WEIGHT = 0.5


@dataclass
class Evidence(Span):
    """One sentence of a retrieved chunk, scored against the question."""

    similarity: float
    overlap: float
    vector: np.ndarray
    addressed: bool = False
    weight: float = SIMILARITY_WEIGHT  # of similarity against word overlap

    @property
    def score(self) -> float:
        """Similarity and word overlap; a sentence speaking to "you" (a reader or a model,
        rather than reporting) counts half, so it cannot outrank a reported fact."""
        score = self.weight * self.similarity + (1 - self.weight) * self.overlap
        return score * ADDRESSED_WEIGHT if self.addressed else score


class SentenceVectors:
    """Embeddings of short texts, cached: the same sentences come back query after query."""

    def __init__(self, embedder: Embedder, capacity: int = 50_000):
        self.embedder = embedder
        self.name = embedder.name
        self._lock = threading.Lock()
        self.capacity = capacity
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()

    def embed(self, texts: list[str]) -> np.ndarray:
        """Vectors for texts, embedding only those not seen lately (safe across threads)."""
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        fresh = dict(zip(missing, self.embedder.embed(missing))) if missing else {}
        with self._lock:
            self._cache.update(fresh)
            rows = [fresh.get(t, self._cache.get(t)) for t in texts]
            while len(self._cache) > self.capacity:
                self._cache.popitem(last=False)
        lost = [t for t, row in zip(texts, rows) if row is None]  # evicted by another thread
        if lost:
            again = dict(zip(lost, self.embedder.embed(lost)))
            rows = [again[t] if row is None else row for t, row in zip(texts, rows)]
        return np.stack(rows)  # type: ignore[arg-type]


def is_full_sentence(text: str) -> bool:
    """A sentence rather than a heading or a caption: ends like one and has a few words."""
    return len(text.split()) >= 4 and text.rstrip("\"'”’)]").endswith((".", "!", "?", "…"))


def is_news_sentence(text: str) -> bool:
    """A full sentence that reports something: not a note about the article itself ("This
    story was updated on Thursday with..."), which is no evidence, claim or summary point."""
    return is_full_sentence(text) and not is_editorial_note(text)


def term_overlap(
    question: str, sentence: str, idf: Callable[[str], float] = lambda t: 1.0
) -> float:
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


ON_TOPIC = 0.5  # share of a topic's (idf-weighted) words a sentence needs to be about it


def on_topic(
    topic: str,
    evidence: list[Evidence],
    idf: Callable[[str], float] = lambda t: 1.0,
    text_of: Callable[[Evidence], str] = lambda ev: ev.text,
) -> list[Evidence]:
    """The evidence about a topic ("agency drivers"): its text (`text_of`: a statement is read
    as its whole quotation) holding at least ON_TOPIC of the topic's words, weighted by
    rarity."""
    return [ev for ev in evidence if term_overlap(topic, text_of(ev), idf) >= ON_TOPIC]


def score_evidence(
    question: str,
    hits: list[Hit],
    vectors: SentenceVectors,
    idf: Callable[[str], float] = lambda t: 1.0,
    limit: int = 0,
    similarity_weight: float = SIMILARITY_WEIGHT,
    foreground: str | None = None,
) -> list[Evidence]:
    """Full sentences of the hits (headings left out), best evidence first, scored by
    similarity_weight times their similarity to the question plus the rest times the share of
    its words they hold.

    Embedding sentences is most of an answer's cost; with a limit, only the `limit` sentences
    sharing most of the question's words (ties: the better-ranked hit) are embedded and scored.
    """
    if foreground:  # the corpus's subject tells no sentence from another
        background = set(content_terms(question)) - set(content_terms(foreground))
        idf = _discounted(idf, background)
    spans = [
        (span, term_overlap(question, span.text + speaker_named_before(k, sentences), idf))
        for hit in hits
        for sentences in [hit.chunk.spans()]
        for k, span in enumerate(sentences)
        if is_news_sentence(span.text)
    ]
    if limit and len(spans) > limit:
        ranked = sorted(range(len(spans)), key=lambda i: (-spans[i][1], i))
        spans = [spans[i] for i in sorted(ranked[:limit])]
    if not spans:
        return []
    matrix = vectors.embed([question] + [span.text for span, _ in spans])
    sims = matrix[1:] @ matrix[0]
    if foreground:  # the question without the corpus's subject (rag.answer.retrieve)
        sims = (sims + matrix[1:] @ vectors.embed([foreground])[0]) / 2
    found = [
        Evidence(
            span.chunk,
            span.start,
            span.end,
            span.text,
            float(sim),
            overlap,
            vec,
            addressed_to_reader(span.text),
            similarity_weight,
        )
        for (span, overlap), sim, vec in zip(spans, sims, matrix[1:])
    ]
    return sorted(found, key=lambda ev: -ev.score)


BACKGROUND_WEIGHT = 0.25  # of a word of the name most passages hold, in the word overlap


def _discounted(idf: Callable[[str], float], background: set[str]) -> Callable[[str], float]:
    return lambda term: idf(term) * (BACKGROUND_WEIGHT if term in background else 1.0)


_SPEECH = "|".join(sorted(SPEECH_VERBS, key=len, reverse=True))
SAID_BY_PRONOUN = re.compile(r"\b(?:he|she|they)\s+(?:" + _SPEECH + r")\b", re.IGNORECASE)
_SPEECH_WORD = re.compile(r"\b(?:" + _SPEECH + r")\b", re.IGNORECASE)


def speaker_named_before(k: int, sentences: list[Span], back: int = 3) -> str:
    """For a quotation whose speaker is a pronoun ("...agency drivers," he said.), the names of
    the closest sentence before it (of the `back` before) that names someone ("Martin Haldane,
    58, ... said he was disappointed."): whom the quotation is by, for the word overlap. A
    sentence that goes on with a quotation opened before it ("They need to know whether...")
    is by whoever the sentence that opened it, or the one before that, says spoke."""
    if not SAID_BY_PRONOUN.search(sentences[k].text):
        opened = _quotation_opened_at(k, sentences, back)
        if opened is None:
            return ""
        k = opened + 1  # the opening sentence and the one before it
        if not any(_SPEECH_WORD.search(s.text) for s in sentences[max(0, k - 2) : k]):
            return ""
    for before in reversed(sentences[max(0, k - back) : k]):
        if names := name_phrases(before.text):
            return " " + " ".join(names)
    return ""


def _open_quotes(text: str) -> int:
    """+1 when the text opens a quotation it does not close, -1 when it closes one it did not
    open, else 0. A straight quote mark opens after a space and before a word ("They said
    "no"), and closes after one (...looks like," Ms Brindley said); curly ones say which."""
    opens = text.count("“") + len(_STRAIGHT_OPENING.findall(text))
    closes = text.count("”") + text.count('"') - len(_STRAIGHT_OPENING.findall(text))
    return (opens > closes) - (opens < closes)


_STRAIGHT_OPENING = re.compile(r"""(?:^|(?<=[\s(\[—–-]))"(?=[^\s,.;:!?)])""")


def quotation_of(k: int, sentences: list[Span]) -> range:
    """The sentences of the quotation sentence k is part of, from the one opening it to the one
    closing it (k alone when it stands outside quotes)."""
    inside = 0
    opened_at = None
    for j, sentence in enumerate(sentences):
        if inside == 0:
            opened_at = j
        inside = max(0, min(1, inside + _open_quotes(sentence.text)))
        if j >= k and inside == 0:
            return range(opened_at if opened_at is not None else k, j + 1)
    return range(opened_at if opened_at is not None else k, len(sentences))


def _quotation_opened_at(k: int, sentences: list[Span], back: int) -> int | None:
    """The sentence (of the `back` before, or this one) opening the quotation that sentence k
    is part of, when k reports no speaker of its own; None when k stands outside quotes."""
    if _names_its_speaker(sentences[k].text):
        return None
    if _open_quotes(sentences[k].text) == 1:
        return k
    if _open_quotes(sentences[k].text) != -1 and not _inside(k, sentences):
        return None
    for j in range(k - 1, max(-1, k - 1 - back), -1):
        balance = _open_quotes(sentences[j].text)
        if balance == 1:
            return j
        if balance == -1 or _names_its_speaker(sentences[j].text):
            return None
    return None


def _inside(k: int, sentences: list[Span]) -> bool:
    """Is sentence k, holding no quote mark, in the middle of a quotation (the next sentence
    closes one)?"""
    if any(mark in sentences[k].text for mark in '"“”') or k + 1 >= len(sentences):
        return False
    return _open_quotes(sentences[k + 1].text) == -1


def _names_its_speaker(text: str) -> bool:
    """Does the sentence say who speaks ("he said", "Bethan Lloyd said")? ("...and told to get
    out" names no speaker.)"""
    return bool(SAID_BY_PRONOUN.search(text)) or bool(
        _SPEECH_WORD.search(text) and name_phrases(text)
    )


_NAME_RUN = re.compile(r"\b[A-Z][\w'’-]+(?:\s+(?:al-|bin\s+|de\s+)?[A-Z][\w'’-]+)+")


def name_phrases(text: str) -> list[str]:
    """Runs of two or more capitalised words ("Anas Alkharboutli"), leading stopwords dropped."""
    found = []
    for match in _NAME_RUN.finditer(text):
        parts = match.group(0).split()
        while parts and parts[0].lower() in STOPWORDS:
            parts = parts[1:]
        if len(parts) >= 2:
            found.append(" ".join(parts))
    return found
