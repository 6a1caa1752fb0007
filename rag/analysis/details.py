"""Details only one outlet reports, inside sentences others share: names and figures.

A sentence can be corroborated as a whole ("the group was formerly known as the al-Nusra
Front", "HTS leads the insurgency") while one of its details appears in one outlet only. A
detail here is a name (a run of capitalised words, or one capitalised word inside a sentence)
or a number written in digits. It is single-source when no other outlet's text carries it: for
a name, when at least half of its words appear in no other outlet; for a number, when no other
outlet states that value. Versions of one story from one outlet count as one outlet. Each
detail is cited to its exact span.
"""

import re
from collections import defaultdict

from pydantic import BaseModel, Field

from rag.core.models import Citation, Span
from rag.core.text import CALENDAR_WORDS, STOPWORDS, numbers

_NAME = re.compile(
    r"\b(?:[a-z]{1,3}-)?[A-Z][\w'’-]+(?:\s+(?:(?:of|for|the|de|bin|al|and)\s+)?"
    r"(?:[a-z]{1,3}-)?[A-Z][\w'’-]+)*"
)
_FIGURE = re.compile(r"[£$€]?\d(?:[\d,.:]*\d)?")
# a clock time ("4am", "10.15pm") or an ordinal ("21st") follows: not a figure of the story
_NOT_A_FIGURE = re.compile(r"\s?(?:am|pm|a\.m|p\.m|st|nd|rd|th)\b", re.IGNORECASE)
_TOKEN = re.compile(r"[\w'’-]+")


class Detail(BaseModel):
    detail: str = Field(description="The name or figure, as the file writes it.")
    kind: str = Field(description='"name" or "number"')
    outlet: str = Field(description="The outlet (or the file, when it names none).")
    sentence: str = Field(description="The sentence it is said in.")
    citation: Citation = Field(description="The detail's exact span.")


def single_source_details(
    sentences: list[Span],
    texts: dict[str, str],
    outlet_of: dict[str, str],
    skip: set[int],
    disputed: set[int] = frozenset(),  # type: ignore[assignment]
    limit: int = 400,
) -> list[Detail]:
    """Names and figures of the sentences (but those in `skip`, already listed whole) that one
    outlet alone states in all the files' texts, first use of each, in sentence order; the
    figures of `disputed` sentences are left out (they are a conflict, not a detail)."""
    words_in, values_in = _inventory(texts, outlet_of)
    found: list[Detail] = []
    seen: set[tuple[str, str]] = set()
    for i, sentence in enumerate(sentences):
        if i in skip:
            continue
        outlet = outlet_of[sentence.file]
        for start, end, kind in _candidates(sentence.text):
            if kind == "number" and i in disputed:
                continue
            surface = sentence.text[start:end].strip(" ,.;:")
            key = (outlet, surface.lower())
            if key in seen or not _only_here(surface, kind, outlet, words_in, values_in):
                continue
            seen.add(key)
            begin = sentence.start + start
            found.append(
                Detail(
                    detail=surface,
                    kind=kind,
                    outlet=outlet,
                    sentence=sentence.text,
                    citation=sentence.chunk.cite(begin, begin + len(surface), 1.0),
                )
            )
            if len(found) >= limit:
                return found
    return found


def _inventory(
    texts: dict[str, str], outlet_of: dict[str, str]
) -> tuple[dict[str, set[str]], dict[float, set[str]]]:
    """Which outlets use each word (and each part of a hyphenated word), and state each number."""
    words_in: dict[str, set[str]] = defaultdict(set)
    values_in: dict[float, set[str]] = defaultdict(set)
    for file, text in texts.items():
        for word in _words(text):
            words_in[word].add(outlet_of[file])
        for value in numbers(text):
            values_in[value].add(outlet_of[file])
    return words_in, values_in


def _words(text: str) -> set[str]:
    found = set()
    for token in _TOKEN.findall(text.lower()):
        token = re.sub(r"['’]s$", "", token)
        found.add(token)
        found.update(part for part in token.split("-") if part)
    return found


def _candidates(text: str) -> list[tuple[int, int, str]]:
    spans = []
    for match in _NAME.finditer(text):
        start, end = match.span()
        words = match.group(0).split()
        while words and words[0].lower() in STOPWORDS:  # "The Guildhall" -> "Guildhall"
            start += len(words[0]) + 1
            words = words[1:]
        at_sentence_start = text[:start].strip(" \"“‘'(") == ""
        single = len(words) == 1
        if single and words[0].lower().strip(".,") in CALENDAR_WORDS:
            continue
        if words and not (at_sentence_start and single):
            spans.append((start, end, "name"))
    spans += [
        (m.start(), m.end(), "number")
        for m in _FIGURE.finditer(text)
        if not _NOT_A_FIGURE.match(text, m.end())
    ]
    return sorted(spans)


def _only_here(
    surface: str,
    kind: str,
    outlet: str,
    words_in: dict[str, set[str]],
    values_in: dict[float, set[str]],
) -> bool:
    if kind == "number":
        values = numbers(surface)
        return bool(values) and all(values_in[v] <= {outlet} for v in values)
    words = [
        w
        for w in (re.sub(r"['’]s$", "", t).split("-")[-1] for t in _TOKEN.findall(surface.lower()))
        if len(w) > 2 and w not in STOPWORDS
    ]
    if not words:
        return False
    absent = [w for w in words if words_in[w] <= {outlet}]
    return 2 * len(absent) >= len(words)
