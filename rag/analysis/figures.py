"""Figures in claims and what each one measures, so that outlets' different numbers for one
thing are found even where their sentences are worded too differently to align as one claim.

A figure's frame is what it counts (the words after it: "150 soldiers", "90mm of rain") and
what leads up to it in its clause ("declared a major incident at 4am"). Two figures of
different files stand for one thing when what they count matches and their clauses are close
or share enough words, or when their lead-ins share words; then different values are a
conflict, unless one is a bound the other keeps ("more than 300" against "about 340").
"""

import itertools
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np

from rag.answer.evidence import SentenceVectors
from rag.core.models import Span
from rag.core.text import (
    AGE_MARKERS,
    APPROXIMATORS,
    BOUNDS,
    CALENDAR_WORDS,
    PERCENT_WORDS,
    STOPWORDS,
    is_past_tense,
    measure_spans,
    number_spans,
    numbers,
    stem,
    unit_at,
    words,
)

# Tuned on tests/corpus2 and tests/corpus3 (their number differences are written down in
# tests/corpus2_truth.md); reported on tests/corpus4 (tests/corpus4_truth.md).
CLOSE_CLAIMS = 0.6  # clause cosine at which two figures counting one thing measure one thing
# ...or this close, when each is the other's closest figure counting that thing in its file
MUTUAL_CLAIMS = 0.45
SAME_COUNTED = 0.6  # cosine of the counted words ("soldiers", "troops") that makes them one
SHARED_LEAD_IN = 2  # content words two figures' lead-ins share to stand for one thing
SHARED_CONTEXT = 2  # words two figures' surroundings share, besides what they count
HEAD_WORDS = 4  # how far after a figure the counted words are read
LEAD_IN_WORDS = 4  # how many content words before a figure are its lead-in
AROUND_WORDS = 6  # how many content words either side of a figure are its surroundings
COMMON_WORD = 0.1  # a word in this share of a corpus's claims says nothing of what is measured

Quantity = tuple[str, float, float]  # dimension ("" for a bare number), base-unit value, unit size

_CLOCK = re.compile(r"\b(\d{1,2})(?:[.:](\d{2}))?\s*([ap])\.?\s?m\b\.?", re.IGNORECASE)
_YEAR = re.compile(r"(?<![\d,.])(1[89]\d\d|20\d\d)(?![\d,.]\d)")
EXACT_KINDS = {"clock", "year", "duration", "date", "percent", "age"}  # only against their kind
_CLAUSE_BREAK = re.compile(r"[,;:()\"“”—–]|\.(?:\s|$)")
_PERCENT = re.compile(
    r"\s*(?:" + "|".join(re.escape(w) for w in PERCENT_WORDS) + r")(?![A-Za-z])", re.IGNORECASE
)
_AGE = re.compile(r"(?:" + "|".join(re.escape(w) for w in AGE_MARKERS) + r")", re.IGNORECASE)
_AGE_MEASURE = re.compile(
    r"\d+(?:" + "|".join(re.escape(w) for w in AGE_MARKERS) + r")", re.IGNORECASE
)
_ORDINAL = re.compile(r"(?:st|nd|rd|th)\b", re.IGNORECASE)
_BOUND = re.compile(
    r"\b(?P<phrase>" + "|".join(re.escape(p) for side in BOUNDS.values() for p in side) + r")\s+$",
    re.IGNORECASE,
)
_LOWER_BOUNDS = frozenset(BOUNDS["lower"])


@dataclass(frozen=True)
class Figure:
    unit: int  # which claim unit states it
    quantity: Quantity
    start: int  # offsets in the unit's text
    end: int
    bound: str  # "lower" ("more than 300"), "upper" ("up to 5"), or ""
    counted: tuple[str, ...]  # the words after it that say what it counts ("tram", "drivers")
    lead_in: frozenset[str]  # stems of the content words before it, within its clause
    around: frozenset[str]  # stems of the words either side of it, numbers included

    @property
    def stated(self) -> float:
        return self.quantity[1] / self.quantity[2]


def figures_of(text: str, unit: int = 0) -> list[Figure]:
    """Every figure a claim states, with its kind (a clock time, a year, a date, an age, a
    percentage, a measure or a count), whether it is a bound, and its frame. A number that
    names something ("Line 2") is no figure."""
    found: list[tuple[int, int, Quantity]] = []

    def free(a: int, b: int) -> bool:
        return all(b <= x or a >= y for x, y, _ in found)

    for m in _CLOCK.finditer(text):
        hours = int(m.group(1)) % 12 + (12 if m.group(3).lower() == "p" else 0)
        found.append((m.start(), m.end(), ("clock", hours + int(m.group(2) or 0) / 60, 1.0)))
    for a, b, number, dimension, value in measure_spans(text):
        if free(a, b) and not _AGE_MEASURE.match(text, a):  # "a 78-year-old": an age
            found.append((a, b, (dimension, value, value / number if number else 1.0)))
    for m in _YEAR.finditer(text):
        if free(m.start(), m.end()):
            found.append((m.start(), m.end(), ("year", float(m.group(1)), 1.0)))
    for a, b, value in number_spans(text):
        if free(a, b) and (kind := _kind_of_number(text, a, b, value)):
            found.append(kind)
    return [_framed(text, unit, a, b, quantity) for a, b, quantity in sorted(found)]


def _kind_of_number(
    text: str, start: int, end: int, value: float
) -> tuple[int, int, Quantity] | None:
    after, before = text[end:], text[:start]
    if _ORDINAL.match(after):
        return None  # "the 25th division": a rank, not an amount
    if _AGE.match(after):
        return start, end, ("age", value, 1.0)
    if unit := unit_at(after):  # "one mile"
        length, dimension, size = unit
        return start, end + length, (dimension, value * size, size)
    if m := _PERCENT.match(after):
        return start, end + m.end(), ("percent", value, 1.0)
    next_word = re.match(r"\s*([A-Za-z]+)", after)
    previous = re.search(r"([A-Za-z]+)\W{0,3}$", before)
    if any(w and w.group(1).lower() in CALENDAR_WORDS for w in (next_word, previous)):
        return start, end, ("date", value, 1.0)
    if previous and re.search(r"[A-Za-z]\s+$", before) and _names(previous.group(1), before):
        return None  # "Line 2", "Route 66"
    if text[start:end].lower() == "one" and next_word and next_word.group(1).lower() == "of":
        return None  # "one of the"
    return start, end, ("", value, 1.0)


def _names(word: str, before: str) -> bool:
    """A capitalised word inside the sentence that is no function word: what a number after it
    names ("Line 2")."""
    inside = bool(before.rstrip()[: -len(word)].strip())
    return inside and word[0].isupper() and word.lower() not in STOPWORDS


def _framed(text: str, unit: int, start: int, end: int, quantity: Quantity) -> Figure:
    clause_before = _CLAUSE_BREAK.split(text[:start])[-1]
    bound = _BOUND.search(text[:start])
    lead = [w for w in words(clause_before) if _is_content(w)][-LEAD_IN_WORDS:]
    before = [w for w in words(text[:start]) if _surrounds(w)][-AROUND_WORDS:]
    after = [w for w in words(text[end:]) if _surrounds(w)][:AROUND_WORDS]
    return Figure(
        unit=unit,
        quantity=quantity,
        start=start,
        end=end,
        bound=("lower" if bound.group("phrase").lower() in _LOWER_BOUNDS else "upper")
        if bound
        else "",
        counted=_counted(text[end:]),
        lead_in=frozenset(stem(w) for w in lead),
        around=frozenset(stem(w) for w in before + after),
    )


def _counted(after: str) -> tuple[str, ...]:
    """What a figure counts: the content words after it, up to a function word, a verb in the
    past, another number or the clause's end ("90mm of rain fell" -> rain); the last is the
    head ("1,420 tram and bus drivers" -> drivers)."""
    after = _PERCENT.sub("", after, count=1) if _PERCENT.match(after) else after
    taken: list[str] = []
    for word in words(_CLAUSE_BREAK.split(after)[0]):
        if not taken and word in ("of", "year-old", "years-old"):
            continue
        if word == "and" and taken:
            continue
        if not _is_content(word) or is_past_tense(word):
            break
        taken.append(word)
        if len(taken) == HEAD_WORDS:
            break
    return tuple(taken)


def _is_content(word: str) -> bool:
    return _surrounds(word) and not numbers(word)


def _surrounds(word: str) -> bool:
    return len(word) > 1 and word not in STOPWORDS and word not in APPROXIMATORS


def figure_conflicts(
    units: list[Span], claims: np.ndarray, vectors: SentenceVectors
) -> list[list[Figure]]:
    """Figures of different files that stand for one thing and disagree, joined into groups
    (a group holds every file's figure for that thing that disagrees with another's)."""
    found = [f for i, unit in enumerate(units) for f in figures_of(unit.text, i)]
    counted = sorted({f.counted[-1] for f in found if f.counted})
    vector_of = dict(zip(counted, vectors.embed(counted))) if counted else {}
    common = _common_words(units)
    candidates = _candidates(found, units, claims)
    edges = [
        (x, y)
        for x, y in candidates
        if _disagree(x, y) and _one_thing(x, y, float(claims[x.unit, y.unit]), vector_of, common)
    ]
    edges += [
        (x, y)
        for x, y in _mutually_closest(candidates, units, claims, vector_of)
        if _disagree(x, y) and (x, y) not in edges
    ]
    by_value: dict[float, list[Figure]] = defaultdict(list)
    for f in found:
        by_value[round(f.stated, 6)].append(f)
    groups = [_with_agreeing(g, by_value, units, claims) for g in _joined(edges)]
    return _joined([(g[0], f) for g in groups for f in g[1:]])  # groups sharing a figure are one


def _with_agreeing(
    group: list[Figure],
    by_value: dict[float, list[Figure]],
    units: list[Span],
    claims: np.ndarray,
) -> list[Figure]:
    """A group with the figures of files not in it that state one of its figures in a clause
    that close to that figure's ("1,800 residents were evacuated" beside "about 1,800 people
    had been evacuated"): every side of the disagreement, not only its first voices."""
    files = {units[f.unit].file for f in group}
    added = []
    for member in group:
        for f in by_value[round(member.stated, 6)]:
            file = units[f.unit].file
            if (
                file not in files
                and comparable(f.quantity, member.quantity)
                and same(f.quantity, member.quantity)
                and claims[f.unit, member.unit] >= CLOSE_CLAIMS
            ):
                added.append(f)
                files.add(file)
    return group + added


def _common_words(units: list[Span]) -> frozenset[str]:
    """Words in so many claims that sharing them says nothing ("flood" in a story of floods)."""
    seen = Counter(w for u in units for w in {stem(w) for w in words(u.text)})
    return frozenset(w for w, n in seen.items() if n > COMMON_WORD * len(units))


def _candidates(
    found: list[Figure], units: list[Span], claims: np.ndarray
) -> set[tuple[Figure, Figure]]:
    """Pairs of figures of different files worth a look: close clauses, or a shared word in
    what they count or lead in with (no pair of all figures: a large corpus has thousands)."""
    by_word: dict[str, list[Figure]] = defaultdict(list)
    by_unit: dict[int, list[Figure]] = defaultdict(list)
    for f in found:
        by_unit[f.unit].append(f)
        for word in f.lead_in | {stem(w) for w in f.counted[-1:]}:
            by_word[word].append(f)
    rows = np.array(sorted(by_unit))
    close: list[tuple[int, int]] = []
    if len(rows):
        near = claims[np.ix_(rows, rows)] >= CLOSE_CLAIMS
        close = [(int(rows[a]), int(rows[b])) for a, b in zip(*np.nonzero(np.triu(near, 1)))]
    pairs = {(x, y) for a, b in close for x in by_unit[a] for y in by_unit[b]}
    for group in by_word.values():
        pairs.update(itertools.combinations(group, 2))
    return {
        (x, y) if x.unit < y.unit else (y, x)
        for x, y in pairs
        if units[x.unit].file != units[y.unit].file and x.unit != y.unit
    }


def _mutually_closest(
    candidates: set[tuple[Figure, Figure]],
    units: list[Span],
    claims: np.ndarray,
    vector_of: dict[str, np.ndarray],
) -> list[tuple[Figure, Figure]]:
    """Pairs of figures counting one thing whose clauses come MUTUAL_CLAIMS close, each the
    other's closest such figure in its file ("Some 3,500 residents were driven out of their
    houses" against "Around 1,800 residents were evacuated"): one outlet's figure for a thing
    another outlet words apart."""
    closest: dict[tuple[Figure, str], tuple[float, Figure]] = {}
    counting = [
        (x, y, float(claims[x.unit, y.unit]))
        for x, y in candidates
        if comparable(x.quantity, y.quantity) and _same_counted(x, y, vector_of)
    ]
    for x, y, cosine in counting:
        for one, other in ((x, y), (y, x)):
            key = (one, units[other.unit].file)
            if cosine > closest.get(key, (-1.0, one))[0]:
                closest[key] = (cosine, other)
    return [
        (x, y)
        for x, y, cosine in counting
        if cosine >= MUTUAL_CLAIMS
        and closest[(x, units[y.unit].file)][1] == y
        and closest[(y, units[x.unit].file)][1] == x
    ]


def _disagree(x: Figure, y: Figure) -> bool:
    """Two figures of one kind with different values that no bound reconciles."""
    if not comparable(x.quantity, y.quantity) or same(x.quantity, y.quantity):
        return False
    return not (_keeps(x, y) or _keeps(y, x))


def _keeps(bound: Figure, other: Figure) -> bool:
    if bound.bound == "lower":
        return other.stated >= bound.stated
    if bound.bound == "upper":
        return other.stated <= bound.stated
    return False


def _one_thing(
    x: Figure, y: Figure, cosine: float, vector_of: dict[str, np.ndarray], common: frozenset[str]
) -> bool:
    """Whether two figures measure one thing: what they count is one (or one of them says
    nothing of it) and their lead-ins share words, or it is one and their clauses are close or
    their surroundings share words."""
    same_count = _same_counted(x, y, vector_of)
    if x.counted and y.counted and not same_count:
        return False
    if len((x.lead_in & y.lead_in) - common) >= SHARED_LEAD_IN:
        return True
    if not same_count:
        return False
    telling = (x.around & y.around) - common - {stem(w) for w in x.counted + y.counted}
    return cosine >= CLOSE_CLAIMS or len(telling) >= SHARED_CONTEXT


def _same_counted(x: Figure, y: Figure, vector_of: dict[str, np.ndarray]) -> bool:
    """Whether two figures count one thing: the heads of their counted words are one word or
    near in meaning ("soldiers", "troops")."""
    if not x.counted or not y.counted:
        return False
    a, b = x.counted[-1], y.counted[-1]
    return stem(a) == stem(b) or float(vector_of[a] @ vector_of[b]) >= SAME_COUNTED


def _joined(edges: list[tuple[Figure, Figure]]) -> list[list[Figure]]:
    parent: dict[Figure, Figure] = {}

    def root(f: Figure) -> Figure:
        while parent.setdefault(f, f) != f:
            f = parent[f]
        return f

    for x, y in edges:
        parent[root(x)] = root(y)
    groups: dict[Figure, list[Figure]] = defaultdict(list)
    for f in list(parent):
        groups[root(f)].append(f)
    joined = [sorted(g, key=lambda f: f.unit) for g in groups.values()]
    return sorted(joined, key=lambda g: g[0].unit)


def disagreeing(xs: list[Figure], ys: list[Figure]) -> list[tuple[Figure, Figure]]:
    """The figures of two accounts of one claim that stand against each other: one kind,
    different values, and neither stated by the other side (a figure only one side states, or
    one a bound of the other keeps, is no disagreement)."""
    only_x = [x for x in xs if not any(_matches(x, y) for y in ys)]
    only_y = [y for y in ys if not any(_matches(y, x) for x in xs)]
    return [(x, y) for x in only_x for y in only_y if _disagree(x, y)]


def _matches(x: Figure, y: Figure) -> bool:
    if not comparable(x.quantity, y.quantity):
        return False
    return same(x.quantity, y.quantity) or _keeps(x, y) or _keeps(y, x)


def comparable(x: Quantity, y: Quantity) -> bool:
    """Two figures that could measure one thing: one dimension, or a bare number either side
    ("5.2m" against "5.2 metres"), but never a time, a year or a duration against a count."""
    if x[0] in EXACT_KINDS or y[0] in EXACT_KINDS:
        return x[0] == y[0]
    return x[0] == y[0] or not x[0] or not y[0]


def same(x: Quantity, y: Quantity) -> bool:
    stated_x, stated_y = x[1] / x[2], y[1] / y[2]
    if not x[0] or not y[0]:  # a bare number: "5.2m" against "5.2 metres"
        return math.isclose(stated_x, stated_y)
    if x[0] != y[0]:
        return False
    if math.isclose(x[2], y[2]):  # one unit: the numbers as stated
        return math.isclose(stated_x, stated_y)
    return abs(x[1] - y[1]) <= _half_step(stated_x) * x[2] + _half_step(stated_y) * y[2]


def _half_step(number: float) -> float:
    """Half the last stated digit: a figure given as 18 stands for 17.5 to 18.5."""
    shown = f"{number:.6g}"
    decimals = len(shown.split(".")[1]) if "." in shown else 0
    return 0.5 * 10.0**-decimals
