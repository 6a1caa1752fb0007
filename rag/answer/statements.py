"""Whose statement a sentence is: for a question asking what someone said ("What did Tessaly
Systems say about the breach?"), the points are that speaker's statements, not sentences that
only name them ("The group said the attackers got in through an account used by Tessaly")."""

import re
from collections.abc import Callable

from rag.answer.evidence import (
    ON_TOPIC,
    SAID_BY_PRONOUN,
    Evidence,
    name_phrases,
    quotation_of,
    speaker_named_before,
    term_overlap,
)
from rag.answer.verify import attribution
from rag.core.models import Span
from rag.core.text import THE_ORGANISATION, is_organisation

_APPOSITIVE = re.compile(r",\s*[^,.;:\"“”]{1,80}")  # "said Fiona Gask, a spokesperson for Tessaly"


def by_speaker(
    speaker: str, evidence: list[Evidence], idf: Callable[[str], float] = lambda t: 1.0
) -> list[Evidence]:
    """The evidence that is a statement by the speaker: a sentence whose attribution ("Fiona
    Gask, a spokesperson for Tessaly Systems, said", "Tessaly Systems confirmed") holds at
    least ON_TOPIC of the speaker's (idf-weighted) words; for '..., he said.' the sentence
    before that names someone."""
    return [ev for ev in evidence if term_overlap(speaker, said_by(ev), idf) >= ON_TOPIC]


def said_by(ev: Span) -> str:
    """The words that say who made the sentence's statement ("" when it reports none); "the
    company" in them brings the organisation the sentence before names ("Tessaly Systems
    confirmed... '...,' said Fiona Gask, a spokesperson for the company."). A sentence of a
    quotation that names no speaker is by whoever the quotation's other sentences say spoke,
    or, when it opens just after a quotation someone was said to speak ('"...," Ms Brindley
    said. "The real danger is..."'), by that speaker."""
    if own := _speaker_named(ev):
        return own
    spans, at = _in_its_chunk(ev)
    if at is None:
        return ""
    quotation = quotation_of(at, spans)
    for j in quotation:
        if j != at and (words := _speaker_named(spans[j])):
            return words
    first = quotation.start
    if first > 0 and spans[first].text.lstrip()[:1] in _OPENING_MARKS:
        return _speaker_named(spans[first - 1])
    return ""


_OPENING_MARKS = {'"', "“"}


def whole_quotation(ev: Span) -> str:
    """The text of the quotation the sentence is part of ('"One guard for three floors is not
    security. It is a witness," said Tom Ingleby'); the sentence alone outside quotes."""
    spans, at = _in_its_chunk(ev)
    if at is None:
        return ev.text
    return " ".join(spans[j].text for j in quotation_of(at, spans))


def _speaker_named(ev: Span) -> str:
    """said_by() for a sentence that itself says who spoke, "" for any other."""
    if found := attribution(ev.text):
        _, start, end = found
        after = _APPOSITIVE.match(ev.text, end)
        before = ev.text[max(0, start - 80) : start]
        words = (
            before[before.rfind(",") + 1 :] + ev.text[start:end] + (after.group(0) if after else "")
        )
        return words + _organisation_meant(ev) if THE_ORGANISATION.search(words) else words
    if SAID_BY_PRONOUN.search(ev.text):
        spans, at = _in_its_chunk(ev)
        return speaker_named_before(at, spans) if at is not None else ""
    return ""


def _in_its_chunk(ev: Span) -> tuple[list[Span], int | None]:
    """The sentences of the span's chunk and the span's index among them (None when it is not
    one of them)."""
    spans = ev.chunk.spans() if ev.chunk is not None else []
    return spans, next((k for k, s in enumerate(spans) if s.start == ev.start), None)


def _organisation_meant(ev: Span) -> str:
    """The organisations the sentence before names, which "the company" of this one means."""
    spans, at = _in_its_chunk(ev)
    if not at:
        return ""
    return "".join(f" {n}" for n in name_phrases(spans[at - 1].text) if is_organisation(n))
