"""How each file words the same thing, discovered from the corpus itself (no lexicon).

Substitutions: sentences of different files that report the same claim are compared word by
word; where one says "insurgents" and the other "terrorists" at the same place, the two are
linked. Linked words form groups (connected components); each group is shown with the words
each file uses and a citation to a use. Distinctive terms: each file's words against the rest
by weighted log-odds with an informative Dirichlet prior (Monroe, Colaresi and Quinn 2008,
"Fightin' Words"), as z-scores.
"""

import difflib
import math
import re
from collections import Counter, defaultdict

import numpy as np
from pydantic import BaseModel

from rag.core.models import Citation, Span
from rag.core.text import CALENDAR_WORDS, LABELLING_VERBS, STOPWORDS, numbers, words

SHORT_SIDE = 3  # words on the shorter side of a substitution ("terrorists")
LONG_SIDE = 8  # and on the longer one ("forces opposed to syrian president bashar al-assad")
MIN_SIMILAR = 0.25  # token similarity two aligned sentences need for a word-level comparison
# "Damascus refers to the opposition as 'terrorists'": a label put in the place of a name
_LABEL = re.compile(
    r"\b(?:"
    + "|".join(re.escape(v) for v in sorted(LABELLING_VERBS, key=len, reverse=True))
    + r")\s+(?P<named>(?:[\w’'-]+\s+){1,3}?)as\s+[\"“‘']?(?P<label>[\w’'-]+(?:\s+[\w’'-]+)?)"
    r"[\"”’']?(?=\s*(?:[,.;:]|and\b|$))",
    re.IGNORECASE,
)


class FramingTerm(BaseModel):
    term: str
    count: int
    citation: Citation
    score: float | None = None


def substitution_groups(
    claims: list[Span],
    sims: np.ndarray,
    same_claim: float,
    also: set[tuple[int, int]] = frozenset(),  # type: ignore[assignment]
) -> list[list[str]]:
    """Groups of words that claims (clauses: rag.analysis.compare.claim_units) of different
    files reporting the same thing (cosine at least same_claim, sims holding every pair's, or
    a pair in `also`) use in each other's place, biggest first; each group's words ordered by
    how often they were swapped."""
    links: Counter[tuple[str, str]] = Counter()
    close = {(int(i), int(j)) for i, j in zip(*np.nonzero(sims >= same_claim)) if i < j}
    for i, j in sorted(close | {(min(p), max(p)) for p in also}):
        left, right = claims[i], claims[j]
        if left.file != right.file:
            links.update(_swaps(left.text, right.text))
    links.update(label for claim in claims for label in labels(claim.text))
    neighbours: dict[str, set[str]] = defaultdict(set)
    weight: Counter[str] = Counter()
    for (a, b), n in links.items():
        neighbours[a].add(b)
        neighbours[b].add(a)
        weight[a] += n
        weight[b] += n
    groups, seen = [], set()
    for start in sorted(neighbours, key=lambda t: -weight[t]):
        if start in seen:
            continue
        component, todo = set(), [start]
        while todo:
            term = todo.pop()
            if term not in component:
                component.add(term)
                todo += neighbours[term] - component
        seen |= component
        groups.append(sorted(component, key=lambda t: (-weight[t], t)))
    groups.sort(key=lambda g: -sum(weight[t] for t in g))
    return [g for g in groups if len(g) >= 2]


def framing_view(
    groups: list[list[str]], sentences: list[Span], most: int = 40
) -> dict[str, dict[str, list[FramingTerm]]]:
    """For the first `most` groups whose files choose different words: per file, the group's
    words it uses, counted, with a first use cited."""
    view: dict[str, dict[str, list[FramingTerm]]] = {}
    for group in groups:
        if len(view) >= most:
            break
        by_file: dict[str, list[FramingTerm]] = {}
        for term in group:
            pattern = re.compile(rf"(?<![\w-]){re.escape(term)}(?![\w-])", re.IGNORECASE)
            counts: Counter[str] = Counter()
            first: dict[str, Span] = {}
            for sentence in sentences:
                hits = len(pattern.findall(sentence.text))
                if hits:
                    counts[sentence.file] += hits
                    first.setdefault(sentence.file, sentence)
            for file, count in counts.items():
                by_file.setdefault(file, []).append(
                    FramingTerm(term=term, count=count, citation=first[file].cite())
                )
        # the files choose differently: the word one file uses most, or at all, another does not
        dominant = {max(terms, key=lambda t: t.count).term for terms in by_file.values()}
        used = {frozenset(t.term for t in terms) for terms in by_file.values()}
        if len(by_file) >= 2 and (len(dominant) >= 2 or len(used) >= 2):
            label = " / ".join(group[:4])
            view[label] = {f: sorted(t, key=lambda x: -x.count) for f, t in sorted(by_file.items())}
    return view


def distinctive_terms(sentences: list[Span], most: int = 6) -> dict[str, list[FramingTerm]]:
    """Each file's most distinctive words against the other files (z-score of the weighted
    log-odds ratio, informative Dirichlet prior = the whole corpus), used at least twice."""
    by_file: dict[str, Counter[str]] = defaultdict(Counter)
    first: dict[tuple[str, str], Span] = {}
    for sentence in sentences:
        for word in _content_words(sentence.text):
            by_file[sentence.file][word] += 1
            first.setdefault((sentence.file, word), sentence)
    corpus: Counter[str] = Counter()
    for counts in by_file.values():
        corpus.update(counts)
    prior_total = sum(corpus.values())
    if len(by_file) < 2 or not prior_total:
        return {}
    prior = {w: c / prior_total * 500 for w, c in corpus.items()}  # a0 = 500 pseudo-counts
    a0 = sum(prior.values())
    view = {}
    for file, counts in sorted(by_file.items()):
        n_i = sum(counts.values())
        rest = corpus - counts
        n_j = sum(rest.values())
        scored = []
        for word, y_i in counts.items():
            if y_i < 2:
                continue
            a_w, y_j = prior[word], rest.get(word, 0)
            delta = math.log((y_i + a_w) / (n_i + a0 - y_i - a_w)) - math.log(
                (y_j + a_w) / (n_j + a0 - y_j - a_w)
            )
            z = delta / math.sqrt(1 / (y_i + a_w) + 1 / (y_j + a_w))
            scored.append((z, word, y_i))
        top = sorted(scored, reverse=True)[:most]
        view[file] = [
            FramingTerm(term=w, count=n, citation=first[(file, w)].cite(), score=round(z, 2))
            for z, w, n in top
            if z > 1.96
        ]
    return {f: terms for f, terms in view.items() if terms}


def labels(text: str) -> list[tuple[str, str]]:
    """Labels a sentence puts on someone ("views the insurgents as terrorists" ->
    insurgents, terrorists): words used in the place of a name, though not in its place in
    another file's sentence."""
    found = []
    for m in _LABEL.finditer(text):
        named, label = _trim(_tokens(m.group("named"))), _trim(_tokens(m.group("label")))
        if named and label and named != label and _meaningful(named) and _meaningful(label):
            found.append(tuple(sorted((named, label))))
    return found  # type: ignore[return-value]


def _swaps(left: str, right: str) -> list[tuple[str, str]]:
    """Word substitutions between two sentences that say the same thing in other words: a
    short replaced run between two unchanged ones (or the sentence's edge), one of which holds
    a content word, so the swap sits at the same place in both."""
    a, b = _tokens(left), _tokens(right)
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    if matcher.ratio() < MIN_SIMILAR:
        return []
    codes = matcher.get_opcodes()
    found = []
    for k, (op, i1, i2, j1, j2) in enumerate(codes):
        short, long_ = sorted((i2 - i1, j2 - j1))
        if op != "replace" or short > SHORT_SIDE or long_ > LONG_SIDE:
            continue
        before = codes[k - 1] if k else None
        after = codes[k + 1] if k + 1 < len(codes) else None
        if not _anchored(a, before, after):
            continue
        x = _trim(_unmoved(_trim(a[i1:i2]).split(), b))
        y = _trim(_unmoved(_trim(b[j1:j2]).split(), a))
        if x and y and x != y and _meaningful(x) and _meaningful(y):
            found.append(tuple(sorted((x, y))))
    return found  # type: ignore[return-value]


def _unmoved(run: list[str], other: list[str]) -> list[str]:
    """A replaced run without the words at its edges the other sentence also has elsewhere:
    moved, not replaced ("wednesday said militants" against "... on wednesday said
    opposition fighters" -> "militants")."""
    elsewhere = set(other)
    start, end = 0, len(run)
    while start < end and run[start] in elsewhere:
        start += 1
    while end > start and run[end - 1] in elsewhere:
        end -= 1
    return run[start:end]


def _anchored(tokens: list[str], before: tuple | None, after: tuple | None) -> bool:
    """Each side of a replaced run is the sentence's edge or unchanged text with a content word."""
    sides = [code for code in (before, after) if code is not None]
    return all(
        code[0] == "equal" and any(t not in STOPWORDS for t in tokens[code[1] : code[2]])
        for code in sides
    )


def _tokens(text: str) -> list[str]:
    return re.findall(r"[\w’'-]+", text.lower())


def _trim(tokens: list[str]) -> str:
    """The phrase without stopwords or weekdays and months at its ends, nor a number at its edge
    and what is beyond it ("date 2024-12-05 terrorists" -> "terrorists"): numbers are
    conflicts, not framing."""
    digits = [k for k, t in enumerate(tokens) if re.search(r"\d", t)]
    if digits:
        tokens = tokens[digits[-1] + 1 :] if digits[-1] < len(tokens) / 2 else tokens[: digits[0]]
    edge = STOPWORDS | CALENDAR_WORDS  # "wednesday said militants" -> "militants"
    while tokens and tokens[0] in edge:
        tokens = tokens[1:]
    while tokens and tokens[-1] in edge:
        tokens = tokens[:-1]
    return " ".join(tokens)


def _meaningful(phrase: str) -> bool:
    """A phrase with a content word and no number or date (those are conflicts, not framing)."""
    return (
        not re.search(r"\d", phrase)
        and not numbers(phrase)
        and any(w not in STOPWORDS and w not in CALENDAR_WORDS for w in phrase.split())
    )


def _content_words(text: str) -> list[str]:
    return [w for w in words(text) if w not in STOPWORDS and len(w) > 2 and not w.isdigit()]
