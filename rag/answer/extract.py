"""Extractive answers: the reader reads the best evidence sentences, each with its neighbours,
and the answer is the span it finds (a name, a number, a date) with the sentence that holds it.

A sentence another outlet carries almost word for word cites that outlet too, but only when
its copy holds the answer itself: a near-duplicate that lacks the detail is no support for it.
"""

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from rag.answer.evidence import Evidence, name_phrases
from rag.answer.followup import without_context
from rag.answer.reader import Reader, Reading
from rag.answer.routes import (
    asks_a_persons_name,
    asks_age,
    asks_money,
    asks_when,
    asks_which,
    counted_noun,
    echoes,
    is_age_at,
    lead_fits,
    names_no_one,
    persons_described,
    proper_adjectives,
    repeats_question,
    wants_amount,
    wants_name,
    which_noun,
)
from rag.answer.verify import cheap_checks
from rag.core.models import Chunk, Hit, Span, one_chunk_per_file
from rag.core.text import HONORIFICS, STOPWORDS, content_terms, numbers, words

# Choosing between windows, per extra file carrying the sentence (at most two): tuned on
# eval/facts.yaml and the tuning conversations (SQuAD's articles are one file each)
CORROBORATION = 0.05
ECHO = 0.99  # a window answering "who" with the question's own name: just below the bar
# What the combiner weighs for each window (reader.json "combiner"; rag.train.reader fits it)
FEATURES = ("reader_margin", "evidence_score", "similarity", "word_overlap", "inverse_rank")


def window_features(reading: Reading, evidence: Evidence, rank: int) -> list[float]:
    margin = reading.margin if np.isfinite(reading.margin) else -20.0
    return [
        float(np.clip(margin, -20.0, 20.0)) / 10.0,
        evidence.score,
        evidence.similarity,
        evidence.overlap,
        1.0 / (1 + rank),
    ]


@dataclass
class Window:
    """Consecutive sentences of one file, read as one passage."""

    sentences: list[Span]
    text: str
    starts: list[int]  # where each sentence begins in text
    center: Span

    def sentence_at(self, char: int) -> Span:
        """The sentence holding this character of the window's text."""
        at = max(i for i, s in enumerate(self.starts) if s <= char) if char >= 0 else 0
        return self.sentences[at]


@dataclass
class Reply:
    """The reader's answer: the span, the sentence(s) that say it, and how sure it is."""

    short: str
    sentences: list[tuple[Span, list[Chunk]]]
    probability: float
    answers: bool  # likely enough to answer (at or above the threshold)


def neighbourhood(hits: list[Hit]) -> dict[tuple[str, int], tuple[Span | None, Span | None]]:
    """For each sentence of the hits, the sentences just before and after it in its file, as
    far as the retrieved chunks show them."""
    around: dict[tuple[str, int], tuple[Span | None, Span | None]] = {}
    for hit in hits:
        spans = hit.chunk.spans()
        for i, span in enumerate(spans):
            before = spans[i - 1] if i > 0 else None
            after = spans[i + 1] if i + 1 < len(spans) else None
            known = around.get((span.file, span.start), (None, None))
            around[(span.file, span.start)] = (known[0] or before, known[1] or after)
    return around


def window_around(span: Span, around: dict) -> Window:
    """The sentence with one sentence either side (rag.answer.reader.window_bounds)."""
    before, after = around.get((span.file, span.start), (None, None))
    sentences = [s for s in (before, span, after) if s is not None]
    starts, parts, cursor = [], [], 0
    for s in sentences:
        starts.append(cursor)
        parts.append(s.text)
        cursor += len(s.text) + 1
    return Window(sentences, " ".join(parts), starts, span)


def carries(sentence: str, answer: str) -> bool:
    """Does the sentence hold the answer's words and numbers?"""
    return set(content_terms(answer)) <= set(content_terms(sentence)) and numbers(
        answer
    ) <= numbers(sentence)


def read_answer(
    reader: Reader,
    question: str,
    clusters: list[list[Evidence]],
    hits: list[Hit],
    windows: int,
    threshold: float | None = None,
    observe: Callable[[str, list[tuple[list[float], str, str]]], None] | None = None,
    first: int | None = None,
) -> Reply:
    """The best answer the reader finds around the leading evidence; `answers` is False when
    no window is likely enough (the reader's calibrated threshold, unless one is given).

    The `first` best windows are read; the rest only when none of them clears the threshold
    (a window's probability does not depend on the others, so an answer found early is only
    replaced when a later, lower-ranked window beats it: rarely, measured in the README)."""
    around = neighbourhood(hits)
    candidates = clusters[:windows]
    read = [window_around(cluster[0], around) for cluster in candidates]
    bar = reader.threshold if threshold is None else threshold
    first = len(read) if first is None or observe is not None else first
    readings = reader.read(question, [w.text for w in read[:first]])
    likely = _likelihoods(reader, readings, candidates, question, read, bar)
    if max(likely, default=0.0) < bar and len(readings) < len(read):
        readings += reader.read(question, [w.text for w in read[len(readings) :]])
        likely = _likelihoods(reader, readings, candidates, question, read, bar)
    if observe is not None:  # what the combiner is fitted on (rag.train.reader)
        features = [
            window_features(r, c[0], rank) for rank, (r, c) in enumerate(zip(readings, candidates))
        ]
        observe(
            question,
            [
                (f, w.sentence_at(r.start).text, w.text[r.start : r.end].strip())
                for f, w, r in zip(features, read, readings)
            ],
        )
    best = _best_window(likely, candidates, bar)
    reading: Reading = readings[best]
    window = read[best]
    if wants_amount(question) or asks_money(question) or asks_a_persons_name(question):
        # "How old...?" answered "dpa": the best span of the window that is a number, in the
        # most likely window that has one; none has: no answer ("How long has she run the
        # café?" is not answered "39")
        if not _fits(question, window, reading) and len(readings) < len(read):
            readings += reader.read(question, [w.text for w in read[len(readings) :]])
            likely = _likelihoods(reader, readings, candidates, question, read, bar)
        reading, best = _fitting(reader, question, readings, read, likely, candidates, bar)
        window = read[best]
        if not _fits(question, window, reading):
            likely[best] = min(likely[best], ECHO * bar)
    elif asks_which(question) and not lead_fits(question, window.text[reading.start : reading.end]):
        # "Which photographer...?" answered "dpa": its best span that is a full name, and
        # not the question's own ("Orrin Chemicals" for "Which chemical ... the Orrin
        # Chemicals building?"); with none, the span as read ("sodium hypochlorite")
        reading = reader.read(question, [window.text], _names_the_answer(question))[0]
    elif _WHOSE.search(question) and not _fits(question, window, reading):
        # "Whose operation was cancelled?" answered "remove his tonsils cancelled on Monday":
        # its best span that names someone ("who" and "whom" may be answered "civilians")
        refit = reader.read(question, [window.text], lambda s: lead_fits(question, s))[0]
        reading = refit if _fits(question, window, refit) else reading
    if asks_which(question) and (noun := which_noun(question)):
        named = described_as(noun, window.text)
        span = window.text[reading.start : reading.end]
        if named and not any(n in span or span.strip() in n for n in named):
            # "Which reservoir...?" answered "Marle Valley Water" where the window says
            # "Hollins Water reservoir": the best span that is a name the text calls one
            reading = reader.read(question, [window.text], lambda s: any(n in s for n in named))[0]
        reading = _narrowed(reading, window.text, named)
    short = _past_the_asked(question, window.text[reading.start : reading.end].strip())
    holder = window.sentence_at(reading.start)
    copies = [ev for ev in candidates[best] if holder is window.center and carries(ev.text, short)]
    holder = common_wording(holder, copies)
    chunks = one_chunk_per_file([holder.chunk, *(ev.chunk for ev in copies)])
    sentences = [(holder, chunks)]
    if holder is not window.center:  # the answer ran on from the sentence that matched
        sentences.append((window.center, [window.center.chunk]))
        sentences.sort(key=lambda pair: pair[0].start)
    return Reply(short, sentences, likely[best], likely[best] >= bar)


def _past_the_asked(question: str, span: str) -> str:
    """The span without the leading name (and age) the question itself gives: "a chemist at
    the University of Wendmouth" for "What is Imogen Hale's job?", not "Dr Imogen Hale, 52,
    a chemist at...". An honorific ("Dr") counts as part of the name."""
    asked = set(words(re.sub(r"['’]s\b", "", question))) | HONORIFICS  # "Hale's": Hale
    pieces = span.split(", ")
    while len(pieces) > 1 and all(w in asked or w.isdigit() for w in words(pieces[0])):
        pieces.pop(0)
    return ", ".join(pieces)


def common_wording(holder: Span, copies: Sequence[Span]) -> Span:
    """Of near-duplicate sentences of several files that all carry the answer, the wording the
    other copies back best (no name or number only one of them adds): "A video circulating on
    social media showed HTS leader..." rather than the copy that adds "confirmed by Al
    Jazeera's Sanad verification agency", so that each file cited supports what is shown.
    Ties keep the reader's sentence."""
    options = [holder, *(c for c in copies if c.file != holder.file)]

    def backers(option: Span) -> int:
        return sum(cheap_checks(option.text, [o.text]) is None for o in options if o is not option)

    return max(options, key=backers) if len(options) > 1 else holder


_NAME = r"[A-Z][\w'’.-]*(?:\s+(?:of\s+|al-)?[A-Z][\w'’.-]*)*(?:\s+\d+[A-Za-z]?\b)?"  # "Line 2"
LONGER_BY = 3  # words a span may run on around the name a "which" question asks for


def _narrowed(reading: Reading, text: str, named: list[str]) -> Reading:
    """A span that runs on around the name a "which <noun>" question asks for ("...said only
    the airport tram, Line 2" for "Which tram line kept running?"), cut to that name."""
    span = text[reading.start : reading.end]
    inside = [n for n in named if n in span]
    if not inside or len(span.split()) <= len(inside[0].split()) + LONGER_BY:
        return reading
    at = text.index(inside[0], reading.start)
    return replace(reading, start=at, end=at + len(inside[0]))


def described_as(noun: str, text: str) -> list[str]:
    """The names the text calls a <noun>: "Hollins Water reservoir", "Hollins Water, a
    reservoir", "the reservoir Hollins Water", "Hollins Water is a reservoir" (the noun or its
    plural)."""
    word = rf"{re.escape(noun.rstrip('s'))}s?"
    patterns = [
        rf"(?P<name>{_NAME})\s+{word}\b",
        rf"(?P<name>{_NAME}),\s+(?:a|an|the)\s+(?:[\w-]+\s+){{0,3}}?{word}\b",
        rf"\b(?:the|a|an)\s+(?:[\w-]+\s+){{0,2}}?{word},?\s+(?P<name>{_NAME})",
        rf"(?P<name>{_NAME})\s+(?:is|was|are|were)\s+(?:a|an|the)\s+(?:[\w-]+\s+){{0,3}}?{word}\b",
    ]
    adjectives = proper_adjectives()  # "a Syrian photographer": no name
    found = []
    for pattern in patterns:
        for match in re.finditer(pattern, text):
            name = re.sub(r"^(?:The|A|An)\s+", "", match.group("name")).strip()
            bare = name.lower()
            if name and bare not in STOPWORDS and bare not in adjectives and name not in found:
                found.append(name)
    return found


def _names_the_answer(question: str) -> Callable[[str], bool]:
    return lambda span: is_full_name(span) and not echoes(question, span)


def is_full_name(span: str) -> bool:
    """The span is one name of two or more capitalised words ("Anas Alkharboutli", "the Syrian
    National Army")."""
    bare = re.sub(r"^the\s+", "", span.strip(" .,;:'\"“”‘’"), flags=re.IGNORECASE)
    return name_phrases(bare) == [bare]


def _best_window(likely: list[float], candidates: list[list[Evidence]], bar: float) -> int:
    """The most likely window; a likely enough window is never passed over for one below the
    bar: corroboration only chooses between windows on the same side of it."""
    above = max(likely) >= bar
    return int(
        np.argmax(
            [
                p + _corroboration(c) if (p >= bar) == above else -1.0
                for p, c in zip(likely, candidates)
            ]
        )
    )


def _fitting(  # noqa: PLR0913
    reader: Reader,
    question: str,
    readings: list[Reading],
    read: list[Window],
    likely: list[float],
    candidates: list[list[Evidence]],
    bar: float,
) -> tuple[Reading, int]:
    """The reading of the most likely window whose span has the shape the question asks for
    (re-read for its best span that has it), and that window's index; when no read window has
    one, the best window's reading as it is."""
    order = sorted(
        range(len(readings)),
        key=lambda k: (likely[k] >= bar, likely[k] + _corroboration(candidates[k])),
        reverse=True,
    )
    for k in order:
        window, reading = read[k], readings[k]
        if not _fits(question, window, reading):
            reading = reader.read(question, [window.text], _fits_in(question, window.text))[0]
        if _fits(question, window, reading):
            return reading, k
    best = _best_window(likely, candidates, bar)
    return readings[best], best


def _fits_in(question: str, text: str) -> Callable[[str], bool]:
    """lead_fits for a span of this text, read with what follows it ("1.3" of "1.3 terabytes")."""

    def fits(span: str) -> bool:
        return lead_fits(question, span, text[text.find(span) + len(span) :])

    return fits


_WHOSE = re.compile(r"(?:^|,)\s*whose\b", re.IGNORECASE)


def _fits(question: str, window: Window, reading: Reading) -> bool:
    """Can the reading's span lead the answer (rag.answer.routes.lead_fits), read in its
    window?"""
    text = window.text
    if not lead_fits(question, text[reading.start : reading.end], text[reading.end :]):
        return False
    if asks_when(question) and is_age_at(text, reading.start, reading.end):
        return False  # "When did Danny Quarshie join?" is not "Danny Quarshie, 31,"
    # a name asked for by what the person is must stand, in one sentence, where the text says
    # so ("Hale" of the sentence before does not name "the firefighter who was hurt")
    holder = window.sentence_at(reading.start)
    if asks_age(question) and not _about_whom_asked(question, holder.text):
        return False  # "How old is Martin Okonjo?" is not the next sentence's "132-year-old club"
    counted = counted_noun(question)
    if counted and holder is not window.center and not _says(holder.text, {counted}):
        return False  # "Nine people were taken to hospital" after the camp beds' sentence
    described = persons_described(question)
    if not described:
        return True
    within = holder is window.sentence_at(max(reading.start, reading.end - 1))
    return within and _says(holder.text, described)


KIN = 6  # letters two words share at the start to be one word's kin ("leader", "leadership")


def _says(sentence: str, nouns: set[str]) -> bool:
    """Does the sentence call someone one of these nouns, or a word of their kin ("under the
    leadership of" for "leader", "ministers" for "minister")?"""
    said = words(sentence)
    return any(w == n or len(n) >= KIN and w.startswith(n[:KIN]) for n in nouns for w in said) or (
        bool(set(content_terms(" ".join(nouns))) & set(content_terms(sentence)))
    )


def _corroboration(cluster: list[Evidence]) -> float:
    """A small preference, in choosing between windows, for a sentence more files carry near
    word for word (whether to answer is unchanged)."""
    files = len({ev.chunk.file for ev in cluster})
    return CORROBORATION * min(files - 1, 2)


def _likelihoods(
    reader: Reader,
    readings: list[Reading],
    candidates: list[list[Evidence]],
    question: str,
    read: list[Window],
    bar: float,
) -> list[float]:
    """P(each window's answer is right), from its reading and its evidence's scores and rank;
    below the bar for a "who" or "which" window whose span only names what the question names
    ("Who leads HTS?" read as "Hayat Tahrir al-Sham"), or a "who" window whose span is a bare
    number ("52" for "Who will replace him?"): the answer is elsewhere, if anywhere."""
    likely = [
        reader.combined(window_features(r, cluster[0], rank), r)
        for rank, (r, cluster) in enumerate(zip(readings, candidates))
    ]
    echo = echoes if wants_name(question) else repeats_question
    named = _names_asked_of(question)
    return [
        min(p, ECHO * bar)
        if echo(question, span := w.text[r.start : r.end])
        or names_no_one(question, span)
        or not _mentions_any(named, w.text + " " + cluster[0].chunk.text)
        else p
        for p, r, w, cluster in zip(likely, readings, read, candidates)
    ]


_SOMEONE = re.compile(r"\b(?:he|she|his|her|him)\b", re.IGNORECASE)


def _about_whom_asked(question: str, sentence: str) -> bool:
    """Does the sentence name whom the question names, or speak of someone ("he", "her")?"""
    named = _names_asked_of(question)
    return not named or _mentions_any(named, sentence) or bool(_SOMEONE.search(sentence))


def _names_asked_of(question: str) -> list[str]:
    """The words of the names of two words or more the question asks about ("sasha",
    "brindley"), not those of the question a follow-up leans on ("... (What did Ms Rowe say)")."""
    own = without_context(question)
    return [
        w
        for phrase in name_phrases(own)
        for w in words(phrase)
        if w not in STOPWORDS and w not in HONORIFICS
    ]


def _mentions_any(names: list[str], text: str) -> bool:
    """Does the text name any of the question's names ("Brindley" of "Sasha Brindley")? A
    passage that names none of them is about something else ("What does Sasha Brindley think
    they are worth?" is not answered by another outlet's "£10 million")."""
    if not names:
        return True
    said = set(words(text))
    return any(n in said or n in text.lower() for n in names)
