"""Whose statement a sentence is: for a question asking what someone said ("What did Tessaly
Systems say about the breach?"), the points are that speaker's statements, not sentences that
only name them ("The group said the attackers got in through an account used by Tessaly")."""

import re
from collections.abc import Callable

from rag.answer.evidence import (
    ON_TOPIC,
    SAID_BY_PRONOUN,
    Evidence,
    speaker_named_before,
    term_overlap,
)
from rag.answer.verify import attribution

_APPOSITIVE = re.compile(r",\s*[^,.;:\"“”]{1,80}")  # "said Fiona Gask, a spokesperson for Tessaly"


def by_speaker(
    speaker: str, evidence: list[Evidence], idf: Callable[[str], float] = lambda t: 1.0
) -> list[Evidence]:
    """The evidence that is a statement by the speaker: a sentence whose attribution ("Fiona
    Gask, a spokesperson for Tessaly Systems, said", "Tessaly Systems confirmed") holds at
    least ON_TOPIC of the speaker's (idf-weighted) words; for '..., he said.' the sentence
    before that names someone."""
    return [ev for ev in evidence if term_overlap(speaker, said_by(ev), idf) >= ON_TOPIC]


def said_by(ev: Evidence) -> str:
    """The words that say who made the sentence's statement ("" when it reports none)."""
    if found := attribution(ev.text):
        _, start, end = found
        after = _APPOSITIVE.match(ev.text, end)
        before = ev.text[max(0, start - 80) : start]
        return (
            before[before.rfind(",") + 1 :] + ev.text[start:end] + (after.group(0) if after else "")
        )
    if SAID_BY_PRONOUN.search(ev.text):
        spans = ev.chunk.spans()
        at = next((k for k, s in enumerate(spans) if s.start == ev.start), None)
        return speaker_named_before(at, spans) if at is not None else ""
    return ""
