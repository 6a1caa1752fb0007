"""The cross-source view: claims aligned across articles, framing, and near-duplicate articles.

Deterministic: sentence embeddings align claims across wording, rules do the rest.
"""

import difflib
import itertools
from collections import Counter, defaultdict

import numpy as np
from pydantic import BaseModel, Field

from rag.analysis.details import Detail, single_source_details
from rag.analysis.figures import (
    COMMON_WORD,
    Figure,
    disagreeing,
    figure_conflicts,
    figures_of,
)
from rag.analysis.framing import (
    FramingTerm,
    distinctive_terms,
    framing_view,
    substitution_groups,
)
from rag.answer.evidence import SentenceVectors, is_full_sentence, is_news_sentence
from rag.answer.versions import one_story, version_day
from rag.core.cancel import check as check_cancelled
from rag.core.models import Chunk, Citation, Span
from rag.core.text import clause_spans, content_terms, numbers, relative_pieces

# Two sentences of different files report the same thing when a clause of each comes this
# close (cosine); tuned on the sample's labelled pairs (eval/alignment_pairs.yaml)
SAME_CLAIM = 0.70
# ...or this close, when each is the other's closest claim in its file and they share a word
# few claims use (tuned on the sample's and tests/corpus3's pairs; corpus2's only reported)
MUTUAL_CLAIM = 0.55
UNIQUE_BELOW = 0.6  # a clause no other file's clause or sentence comes this close to: one source
ALIGNED = 0.8  # sentence alignment used for near-duplicate articles
DUPLICATE_PAIR = 0.5  # share of one article's sentences found in the other


class Claim(BaseModel):
    text: str
    files: list[str]
    count: int
    citations: list[Citation]


class Conflict(BaseModel):
    claim: str
    values: dict[str, list[float]]
    citations: list[Citation]
    stated: dict[str, list[str]] = Field(
        {}, description='Each file\'s figure as written ("18km", "4am"), where it is known.'
    )


class DuplicatePair(BaseModel):
    a: str
    b: str
    similarity: float
    a_in_b: float
    b_in_a: float
    derived: str | None
    changed_words: list[tuple[str, str]]


class VersionChange(BaseModel):
    kind: str = Field(description='"added", "removed" or "changed"')
    before: Citation | None = Field(None, description="The older version's sentence.")
    after: Citation | None = Field(None, description="The newer version's sentence.")
    numbers_before: list[float] = []
    numbers_after: list[float] = []


class StoryVersions(BaseModel):
    """Two files that are versions of one story (one outlet, or near-same headline, most
    sentences shared both ways), older first, and what changed between them."""

    older: str
    newer: str
    changes: list[VersionChange]


class Comparison(BaseModel):
    files: list[str]
    corroborated: list[Claim]
    single_source: list[Claim]
    conflicts: list[Conflict]
    framing: dict[str, dict[str, list[FramingTerm]]] = Field(
        description="Words the files use in each other's place (discovered from sentences "
        "reporting the same claim), per file, counted, a use cited."
    )
    distinctive: dict[str, list[FramingTerm]] = Field(
        {}, description="Each file's most distinctive words against the others (log-odds z)."
    )
    duplicates: list[DuplicatePair]
    versions: list[StoryVersions] = Field(
        [], description="Versions of one story, and what was added, removed and changed."
    )
    details: list[Detail] = Field(
        [],
        description="Names and figures one outlet alone states, inside sentences not listed "
        "whole as single-source (rag.analysis.details), each cited to its exact span.",
    )


def compare_files(chunks_by_file: dict[str, list[Chunk]], vectors: SentenceVectors) -> Comparison:
    """The cross-source view of the given files. Claims are compared clause by clause
    (claim_units): a sentence one outlet shares may hold a clause only it reports."""
    sentences, matrix, units, unit_matrix, claims, groups = _grouped(chunks_by_file, vectors)
    sims = matrix @ matrix.T  # sentence by sentence: near-duplicate articles and versions
    corroborated = [g for g in groups if len({units[i].file for i in g}) >= 2]
    corroborated.sort(key=lambda g: -len({units[i].file for i in g}))
    number = {file: n for n, file in enumerate(sorted(chunks_by_file))}
    file_ids = np.array([number[u.file] for u in units])
    sentence_files = np.array([number[s.file] for s in sentences])
    singles = _single_source(groups, claims, file_ids, (unit_matrix, matrix), sentence_files)
    duplicates = _duplicates(sorted(chunks_by_file), sentences, sims)
    versions = _versions(duplicates, sentences, sims)
    revised = [{v.older, v.newer} for v in versions]  # their different numbers are revisions
    figured = figure_conflicts(units, claims, vectors)
    conflicts = _conflicts(corroborated, units, claims, figured, revised)
    cited = {(q.file, q.start) for c in conflicts for q in c.citations}
    disputed = {i for i, u in enumerate(units) if (u.file, u.start) in cited}
    singles = [g for g in singles if g[0] not in disputed]  # another file states it otherwise
    texts = {file: " ".join(c.text for c in chunks) for file, chunks in chunks_by_file.items()}
    outlet_of = {
        file: str((chunks[0].metadata.get("outlet") if chunks else None) or file)
        for file, chunks in chunks_by_file.items()
    }
    listed = {g[0] for g in singles}
    return Comparison(
        files=sorted(chunks_by_file),
        corroborated=[_claim(g, units, claims) for g in corroborated],
        single_source=[_claim(g, units, claims) for g in singles],
        conflicts=conflicts,
        framing=framing_view(
            substitution_groups(units, claims, SAME_CLAIM, _same_things(groups, figured)),
            sentences,
        ),
        distinctive=distinctive_terms(sentences),
        duplicates=duplicates,
        versions=versions,
        details=single_source_details(units, texts, outlet_of, listed, disputed),
    )


def _same_things(groups: list[list[int]], figured: list[list[Figure]]) -> set[tuple[int, int]]:
    """Pairs of claims that report one thing: aligned as one, or stating figures for one thing
    ("Some 3,500 residents were driven out of their houses" / "Around 1,800 residents were
    evacuated")."""
    in_groups = [sorted(group) for group in groups]
    in_groups += [sorted({f.unit for f in figures}) for figures in figured]
    return {(i, j) for group in in_groups for i, j in itertools.combinations(group, 2)}


def aligned_claims(
    chunks_by_file: dict[str, list[Chunk]], vectors: SentenceVectors
) -> list[list[Span]]:
    """The files' claims in the groups compare_files aligns them in (a group of one: a claim
    no other file was found to report)."""
    _, _, units, _, _, groups = _grouped(chunks_by_file, vectors)
    return [[units[i] for i in group] for group in groups]


def _grouped(
    chunks_by_file: dict[str, list[Chunk]], vectors: SentenceVectors
) -> tuple[list[Span], np.ndarray, list[Span], np.ndarray, np.ndarray, list[list[int]]]:
    """The files' sentences and their vectors, their claims (claim_units), the claims' vectors
    and cosines, and the claims grouped by what they report."""
    sentences = _sentences(chunks_by_file)
    matrix = vectors.embed([s.text for s in sentences]) if sentences else np.zeros((0, 384))
    reports = [s for s in sentences if is_news_sentence(s.text)]  # versions keep the rest
    units = [unit for sentence in reports for unit in claim_units(sentence)]
    unit_matrix = vectors.embed([u.text for u in units]) if units else matrix
    claims = unit_matrix @ unit_matrix.T  # every pair of claims, once; the steps below read it
    groups = claim_groups(units, claims, _part_links(units, unit_matrix, vectors))
    return sentences, matrix, units, unit_matrix, claims, groups


def claim_units(sentence: Span) -> list[Span]:
    """The claims a sentence makes: its clauses (rag.core.text.clause_spans), or the sentence
    when it has one."""
    return [
        Span(sentence.chunk, sentence.start + a, sentence.start + b, sentence.text[a:b])
        for a, b in clause_spans(sentence.text)
    ] or [sentence]


def claim_similarity(a: str, b: str, vectors: SentenceVectors) -> float:
    """How close two sentences come as claims: their closest clauses, or parts of a clause
    either side of a relative clause's opener (cosine)."""
    first, second = _parts(a), _parts(b)
    found = vectors.embed(first + second)
    return float((found[: len(first)] @ found[len(first) :].T).max())


def _parts(sentence: str) -> list[str]:
    clauses = [sentence[i:j] for i, j in clause_spans(sentence)] or [sentence]
    return clauses + [p for clause in clauses for p in relative_pieces(clause)]


def _part_links(
    units: list[Span], unit_matrix: np.ndarray, vectors: SentenceVectors
) -> dict[int, dict[int, float]]:
    """Claims that report the same thing in a part either side of a relative clause's opener
    ("..., according to the city council, which declared a major incident at 4am"), though
    not as wholes: {claim: {other claim: cosine}}. Parts align claims; they are never listed,
    nor do they make a claim less one outlet's own."""
    extra = [(i, part) for i, unit in enumerate(units) for part in relative_pieces(unit.text)]
    links: dict[int, dict[int, float]] = defaultdict(dict)
    if not extra:
        return links
    owner = np.array([i for i, _ in extra])
    parts = vectors.embed([part for _, part in extra])
    pairs = [(owner[k], j, v) for j, k, v in _above(unit_matrix @ parts.T)]
    pairs += [(owner[k], owner[m], v) for k, m, v in _above(parts @ parts.T)]
    for i, j, value in pairs:
        if i != j and value > links[i].get(j, 0.0):
            links[i][j] = links[j][i] = value
    return links


def _above(sims: np.ndarray) -> list[tuple[int, int, float]]:
    rows, columns = np.nonzero(sims >= SAME_CLAIM)
    return [(int(r), int(c), float(sims[r, c])) for r, c in zip(rows, columns)]


def _sentences(chunks_by_file: dict[str, list[Chunk]]) -> list[Span]:
    found: dict[tuple[str, int], Span] = {}
    for file in sorted(chunks_by_file):
        for chunk in chunks_by_file[file]:
            for start, end, text in chunk.sentence_texts():
                if is_full_sentence(text):
                    found.setdefault((file, start), Span(chunk, start, end, text))
    return list(found.values())


def claim_groups(
    claims: list[Span], sims: np.ndarray, links: dict[int, dict[int, float]]
) -> list[list[int]]:
    """Greedy grouping: a claim joins the group of its most similar earlier claim (at least
    SAME_CLAIM as wholes or by a part: links; or at least MUTUAL_CLAIM when each is the
    other's closest in its file) whose group has no claim from its file yet, and, joining by
    a part, comes within UNIQUE_BELOW of all of it, or by mutual closeness within
    MUTUAL_CLAIM of all of it; else it starts a group."""
    mutual = mutually_closest(sims, np.array([c.file for c in claims]), MUTUAL_CLAIM)
    mutual = _sharing_a_telling_word(mutual, claims)
    groups: list[list[int]] = []
    group_of: list[int] = []
    files_in: list[set[str]] = []
    for i, claim in enumerate(claims):
        if i % 64 == 0:
            check_cancelled()
        row = sims[i, :i]
        if i in links:  # a part of it, or of an earlier claim, comes closer than the whole
            row = row.copy()
            for j, value in links[i].items():
                if j < i:
                    row[j] = max(row[j], value)
        close = np.flatnonzero(row >= SAME_CLAIM)
        extra = [j for j in sorted(mutual.get(i, ())) if j < i and row[j] < SAME_CLAIM]
        close = np.concatenate([close, np.array(extra, dtype=int)])
        joined = None
        for j in close[np.argsort(-row[close], kind="stable")]:
            group = groups[group_of[j]]
            by_part = row[j] >= SAME_CLAIM > sims[i, j]  # a claim of two may bridge two groups
            loose = row[j] < SAME_CLAIM
            nearest = float(sims[i, group].min())
            if (
                claim.file not in files_in[group_of[j]]
                and (not by_part or nearest >= UNIQUE_BELOW)
                and (not loose or nearest >= MUTUAL_CLAIM)
            ):
                joined = group_of[j]
                break
        if joined is None:
            joined = len(groups)
            groups.append([])
            files_in.append(set())
        groups[joined].append(i)
        files_in[joined].add(claim.file)
        group_of.append(joined)
    return groups


def _sharing_a_telling_word(mutual: dict[int, set[int]], claims: list[Span]) -> dict[int, set[int]]:
    """The mutually closest claims that share a content word few claims of the corpus use
    ("Bridge Street", "iron fist"; not "Marle" in a story of the Marle's flood): without one,
    closeness alone is the story's topic ("the River Marle began to recede" beside "the
    Marle overtopped its banks")."""
    terms = [set(content_terms(c.text)) for c in claims]
    seen = Counter(t for ts in terms for t in ts)
    common = {t for t, n in seen.items() if n > COMMON_WORD * len(claims)}
    return {i: {j for j in js if (terms[i] & terms[j]) - common} for i, js in mutual.items()}


def mutually_closest(sims: np.ndarray, files: np.ndarray, bar: float) -> dict[int, set[int]]:
    """Claims of different files that are each other's closest claim in the other's file, at
    least bar close: {claim: {its mutual closest, one per other file}}. Two outlets' accounts
    of one thing in other words meet here where a fixed bar misses them (the closest
    sentence of a hard negative is usually another sentence)."""
    found: dict[int, set[int]] = defaultdict(set)
    if not len(files):
        return found
    names, file_of = np.unique(files, return_inverse=True)
    best = np.zeros((len(files), len(names)), dtype=int)  # each claim's closest in each file
    for n in range(len(names)):
        columns = np.flatnonzero(file_of == n)
        best[:, n] = columns[np.argmax(sims[:, columns], axis=1)]
    back = best[best, file_of[:, None]]  # the closest, in i's file, of i's closest in each
    mutual = (
        (np.take_along_axis(sims, best, axis=1) >= bar)
        & (np.arange(len(names))[None, :] != file_of[:, None])
        & (back == np.arange(len(files))[:, None])
    )
    for i, n in zip(*np.nonzero(mutual)):
        found[int(i)].add(int(best[i, n]))
    return found


def _single_source(
    groups: list[list[int]],
    claims: np.ndarray,
    file_ids: np.ndarray,
    vectors: tuple[np.ndarray, np.ndarray],
    sentence_files: np.ndarray,
) -> list[list[int]]:
    """Claims aligned with none that no other file's claim nor whole sentence (vectors: the
    claims' and the sentences') comes close to: a clause of another file's sentence may say
    less than the whole."""
    lone = [g[0] for g in groups if len(g) == 1 and _unique(claims[g[0]], file_ids[g[0]], file_ids)]
    to_sentences = vectors[0][lone] @ vectors[1].T
    return [[i] for i, row in zip(lone, to_sentences) if _unique(row, file_ids[i], sentence_files)]


def _unique(sims: np.ndarray, file_id: int, file_ids: np.ndarray) -> bool:
    others = file_ids != file_id
    return not others.any() or float(np.max(sims[others])) < UNIQUE_BELOW


def _claim(group: list[int], sentences: list[Span], sims: np.ndarray) -> Claim:
    centre = group[int(np.argmax(sims[np.ix_(group, group)].sum(axis=1)))]
    files = sorted({sentences[i].file for i in group})
    citations = [sentences[i].cite(float(sims[i, centre])) for i in group]
    return Claim(text=sentences[centre].text, files=files, count=len(files), citations=citations)


def _conflicts(
    corroborated: list[list[int]],
    units: list[Span],
    claims: np.ndarray,
    figured: list[list[Figure]],
    revised: list[set[str]],
) -> list[Conflict]:
    """Figures for one thing that files state differently (figured), then aligned claims whose
    figures disagree in a way those did not catch; one story's revisions are no conflict."""
    kept = [c for g in figured if set((c := _figure_conflict(g, units)).values) not in revised]
    cited = {(q.file, q.start) for c in kept for q in c.citations}
    aligned = [found for g in corroborated if (found := _conflict(g, units, claims))]
    return kept + [
        c
        for c in aligned
        if set(c.values) not in revised and not {(q.file, q.start) for q in c.citations} & cited
    ]


def _conflict(group: list[int], units: list[Span], claims: np.ndarray) -> Conflict | None:
    """Files reporting the same claim with figures that disagree (rag.analysis.figures: a
    distance in miles and the same in kilometres, or a bound and a value it keeps, agree).
    Claims aligned by mutual closeness alone are too loosely one to set figures against
    each other ("24 hours" / "two hours")."""
    found = {i: figures_of(units[i].text, i) for i in group}
    pairs = [
        pair
        for i, j in itertools.combinations(group, 2)
        if claims[i, j] >= SAME_CLAIM
        for pair in disagreeing(found[i], found[j])
    ]
    return _figure_conflict([f for pair in pairs for f in pair], units) if pairs else None


def _figure_conflict(group: list[Figure], units: list[Span]) -> Conflict:
    """Figures for one thing that files state differently (rag.analysis.figures), each file's
    as stated ("18km", "shortly after 2am") and as a number."""
    spans = list({f.unit: units[f.unit] for f in group}.values())
    values: dict[str, set[float]] = {}
    stated: dict[str, list[str]] = {}
    for f in group:
        file = units[f.unit].file
        values.setdefault(file, set()).add(f.stated)
        written = units[f.unit].text[f.start : f.end].rstrip(".")
        if written not in stated.setdefault(file, []):
            stated[file].append(written)
    return Conflict(
        claim=spans[0].text,
        values={file: sorted(v) for file, v in sorted(values.items())},
        stated=dict(sorted(stated.items())),
        citations=[s.cite() for s in spans],
    )


def _duplicates(
    files: list[str], sentences: list[Span], all_sims: np.ndarray
) -> list[DuplicatePair]:
    """Article pairs that largely share their sentences, and the words a derived copy changed."""
    rows = {f: [i for i, s in enumerate(sentences) if s.file == f] for f in files}
    pairs = []
    for a, b in itertools.combinations(files, 2):
        check_cancelled()
        if not rows[a] or not rows[b]:
            continue
        sims = all_sims[np.ix_(rows[a], rows[b])]
        a_in_b = float((sims.max(axis=1) >= ALIGNED).mean())
        b_in_a = float((sims.max(axis=0) >= ALIGNED).mean())
        if max(a_in_b, b_in_a) < DUPLICATE_PAIR:
            continue
        derived = None
        if abs(a_in_b - b_in_a) >= 0.2:
            derived = f"{a} from {b}" if a_in_b > b_in_a else f"{b} from {a}"
        matches = [
            (rows[a][i], rows[b][int(j)])
            for i, j in enumerate(sims.argmax(axis=1))
            if sims[i, j] >= ALIGNED
        ]
        pairs.append(
            DuplicatePair(
                a=a,
                b=b,
                similarity=round(max(a_in_b, b_in_a), 3),
                a_in_b=round(a_in_b, 3),
                b_in_a=round(b_in_a, 3),
                derived=derived,
                changed_words=_changed_words(
                    [(sentences[i].text, sentences[j].text) for i, j in matches]
                ),
            )
        )
    return sorted(pairs, key=lambda p: -p.similarity)


def _changed_words(aligned: list[tuple[str, str]], most: int = 12) -> list[tuple[str, str]]:
    """Word substitutions between aligned sentences that are otherwise the same text."""
    changes: Counter[tuple[str, str]] = Counter()
    for left, right in aligned:
        a, b = left.split(), right.split()
        matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
        if matcher.ratio() < 0.6:
            continue
        for op, i1, i2, j1, j2 in matcher.get_opcodes():
            if op == "replace" and i2 - i1 <= 6 and j2 - j1 <= 6:
                changes[(" ".join(a[i1:i2]), " ".join(b[j1:j2]))] += 1
    return [pair for pair, _ in changes.most_common(most)]


def _versions(
    duplicates: list[DuplicatePair], sentences: list[Span], sims: np.ndarray
) -> list[StoryVersions]:
    """Near-duplicate pairs that are one story told twice (each holds most of the other, and
    the outlet or the headline is the same), with the changes from the older to the newer."""
    meta = {s.file: s.chunk.metadata for s in sentences}
    found = []
    for pair in duplicates:
        if min(pair.a_in_b, pair.b_in_a) >= DUPLICATE_PAIR and one_story(
            meta[pair.a], meta[pair.b]
        ):
            older, newer = sorted((pair.a, pair.b), key=lambda f: (version_day(meta[f]), f))
            changes = _changes(older, newer, sentences, sims)
            found.append(StoryVersions(older=older, newer=newer, changes=changes))
    return found


def _changes(
    older: str, newer: str, sentences: list[Span], all_sims: np.ndarray
) -> list[VersionChange]:
    """Sentences the newer version added, the ones it dropped, and the ones it reworded (with
    their numbers when those were revised), in the newer version's order."""
    before = [i for i, s in enumerate(sentences) if s.file == older]
    after = [i for i, s in enumerate(sentences) if s.file == newer]
    sims = all_sims[np.ix_(before, after)]
    changes = []
    for column, j in enumerate(after):
        row = int(np.argmax(sims[:, column]))
        i = before[row]
        if sims[row, column] < ALIGNED:
            changes.append(VersionChange(kind="added", after=sentences[j].cite()))
        elif sentences[i].text != sentences[j].text:
            changes.append(
                VersionChange(
                    kind="changed",
                    before=sentences[i].cite(),
                    after=sentences[j].cite(),
                    numbers_before=sorted(numbers(sentences[i].text)),
                    numbers_after=sorted(numbers(sentences[j].text)),
                )
            )
    for row, i in enumerate(before):
        if float(np.max(sims[row])) < ALIGNED:
            changes.append(VersionChange(kind="removed", before=sentences[i].cite()))
    return changes
