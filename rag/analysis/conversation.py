"""A chat turn: the follow-up made standalone, then routed by its form (rag.answer.routes):
a short cited answer, the relevant points across files, or the relevant part of the
cross-source view."""

import difflib
import re
import time
from dataclasses import dataclass, replace

import numpy as np

from rag.analysis.compare import Claim, Comparison, Conflict
from rag.analysis.service import AnalysisService
from rag.answer.compose import compose, ms
from rag.answer.evidence import Evidence, score_evidence
from rag.answer.extract import is_full_name
from rag.answer.followup import Turn, standalone
from rag.answer.generate import ChatGenerator, OnToken
from rag.answer.routes import (
    asks_what_changed,
    asks_what_only_one_reports,
    asks_where_sources_differ,
    route_of,
    unnamed_person_asked_about,
)
from rag.answer.service import AnswerService, OnSentence
from rag.core.errors import LLMUnavailable
from rag.core.models import Answer, AnswerSentence, Citation, Hit
from rag.index.filters import Filters

COMPARE_CLAIMS = 3  # corroborated claims shown for a comparison request
COMPARE_SINGLES = 2  # and claims only one file reports
OUTLET_SINGLES = 5  # claims shown for "what does <outlet> report that the others don't?"
COMPARE_FIGURES = 3  # sentences quoted for a revision or a figure the files state differently
COMPARE_OUTLETS = 4  # files quoted on what the sources differ about, one sentence each
EACH_OUTLET_SHARE = 0.6  # of the best file's score that another file's sentence needs
COMPARE_REVISIONS = 3  # revisions between versions of a story quoted for "what changed"
COMPARE_ADDED = 4  # and paragraphs the newer version adds
# figures the files state differently, quoted for "Do the sources agree...?": those about as
# close to the question as the closest (all of them, for "What do the outlets disagree on?")
COMPARE_CONFLICTS = 3
CONFLICT_MARGIN = 0.1


class Conversation:
    """Questions in context: what the page, the chat API and `history` on /v1/answer use."""

    def __init__(self, answers: AnswerService, analysis: AnalysisService):
        self.answers = answers
        self.analysis = analysis

    def ask(
        self,
        question: str,
        filters: Filters | None = None,
        *,
        history: list[Turn] | None = None,
        top_k: int | None = None,
        mode: str | None = None,
        on_token: OnToken = None,
        on_sentence: OnSentence = None,
    ) -> Answer:
        """The answer to this turn; `asked` keeps the question when it was rewritten.
        on_token and on_sentence hear the answer as it is written and as it is verified."""
        asked = self.answers.clean_question(question)
        question = self.standalone(asked, history or [], mode)
        route = route_of(question)
        if route == "open" and (role := unnamed_person_asked_about(question)):
            question = self._named(question, role, filters)
        if route == "compare":
            answer = self._compare(question, filters, top_k, mode, on_sentence)
        else:
            answer = self.answers.ask(question, filters, top_k, mode, on_token, route, on_sentence)
        answer.route = route
        answer.asked = asked if question != asked else None
        return answer

    def standalone(self, question: str, history: list[Turn], mode: str | None) -> str:
        """The follow-up as a standalone question: by the LLM when one is configured (the
        condense prompt), else (or when it fails) by carrying the previous turn's subject."""
        if not history:
            return question
        generator = self.answers.generator(mode)
        if isinstance(generator, ChatGenerator):
            shown = "\n".join(f"{t.role}: {t.content}" for t in history[-6:])
            try:
                rewritten = generator.condense(question, shown)
            except LLMUnavailable:
                rewritten = None
            if rewritten:
                return self.answers.clean_question(rewritten)
        return standalone(question, history, self.answers.retriever.lexical().outlets)

    def _named(self, question: str, role: str, filters: Filters | None) -> str:
        """ "What do we know about the club's owner?" asked about the person the articles
        say that is ("Conrad Vesey"), when they say it: else as it was."""
        who = self.answers.ask(f"Who is {role}?", filters, mode="extractive")
        name = who.short_answer
        if who.abstained or not name or not is_full_name(name):
            return question
        return question.replace(role, name)

    def _compare(
        self,
        question: str,
        filters: Filters | None,
        top_k: int | None,
        mode: str | None,
        on_sentence: OnSentence = None,
    ) -> Answer:
        """What the files that speak to the question corroborate and what only one reports."""
        began = time.perf_counter()
        outlets = self.answers.outlets_named(question)
        if asks_what_changed(question) and outlets and not (filters and filters.outlets):
            # "What changed in Harbinger Wire's updated story?": that outlet's versions
            filters = replace(filters or Filters(), outlets=outlets)
        hits = self.answers.retrieve(question, max(top_k or 0, 10), filters)
        files = list(dict.fromkeys(hit.chunk.file for hit in hits))
        if asks_what_changed(question) or asks_where_sources_differ(question):
            files += self._other_versions(files, filters)
        only_one = asks_what_only_one_reports(question)
        alone = self._files_of(outlets) if only_one else set()
        files = list(dict.fromkeys([*sorted(alone), *files]))
        if len(files) < 2:
            answer = self.answers.ask(
                question, filters, top_k, mode, route="open", on_sentence=on_sentence
            )
            if asks_what_changed(question) and outlets and files and answer.note is None:
                answer.note = f"one file of {', '.join(outlets)} is indexed: no other version"
            return answer
        limit = self.answers.settings.max_files_per_request
        comparison = self.analysis.compare(files[:limit])
        if alone:  # what the named outlet reports and no other file does
            shown = _reported_alone(comparison, alone)[:OUTLET_SINGLES]
        elif only_one:  # "What did only one source mention?": such claims, closest first
            shown = _relevant(question, comparison.single_source, OUTLET_SINGLES, self.answers)
        else:
            shown = _relevant(question, comparison.corroborated, COMPARE_CLAIMS, self.answers)
            shown += _relevant(question, comparison.single_source, COMPARE_SINGLES, self.answers)
        sentences = [] if only_one else _changes(question, comparison, self.answers, shown)
        if asks_where_sources_differ(question) and not only_one:
            sentences += _each_outlet(question, hits, self.answers, sentences)
        quoted = {s.text for s in sentences}
        shown = [c for c in shown if c.text not in quoted]
        sentences += [AnswerSentence(text=c.text, citations=c.citations) for c in shown]
        if on_sentence is not None:  # quotes: supported as they stand
            for sentence in sentences:
                on_sentence(sentence)
        timings = {"total_ms": ms(began)}
        return compose(question, "extractive", sentences, hits, None, timings)

    def _files_of(self, outlets: list[str]) -> set[str]:
        """The indexed files of these outlets."""
        known = self.answers.retriever.lexical().files()
        return {m["file"] for m in known if m.get("outlet") in outlets}

    def _other_versions(self, files: list[str], filters: Filters | None) -> list[str]:
        """The other files of the outlets of these files (an earlier or later version of one
        of their stories may not be retrieved), as the filters allow."""
        known = self.answers.retriever.lexical().files()
        outlets = {m.get("outlet") for m in known if m["file"] in files} - {None, ""}
        return [
            m["file"]
            for m in known
            if m.get("outlet") in outlets
            and m["file"] not in files
            and (filters is None or filters.matches(m))
        ]


def _each_outlet(
    question: str, hits: list[Hit], answers: AnswerService, shown: list[AnswerSentence]
) -> list[AnswerSentence]:
    """For "How do the outlets differ on the size of the evacuation zone?": what each file
    says of it, its sentence closest to the question (one mile, a 1.6km cordon, 3km), files
    in the order of their best sentence, those already quoted left out. Not every difference
    is a figure the comparison pairs up (a distance in other units, a time of day)."""
    quoted = {(c.file, c.start) for sentence in shown for c in sentence.citations}
    evidence = score_evidence(question, hits, answers.vectors, answers.retriever.lexical().idf)
    best: dict[str, Evidence] = {}
    for ev in evidence:
        best.setdefault(ev.file, ev)
    if not best:
        return []
    top = max(ev.score for ev in best.values())
    chosen = [
        ev
        for ev in sorted(best.values(), key=lambda ev: -ev.score)
        if ev.score >= EACH_OUTLET_SHARE * top and (ev.file, ev.start) not in quoted
    ]
    return [AnswerSentence(text=ev.text, citations=[ev.cite()]) for ev in chosen[:COMPARE_OUTLETS]]


def _changes(
    question: str, comparison: Comparison, answers: AnswerService, shown: list[Claim]
) -> list[AnswerSentence]:
    """What changed that the question is about, first: for a question about how the reporting
    changed, the revision between story versions and the differing figures closest to it; for
    one about whether the sources agree, those figures; for any other comparison, the
    differing figures when they are closer to the question than the first claim shown.
    Closeness is read on what changed ("leaving one man dead" -> "leaving two people dead"),
    not the whole sentences; each is quoted as it stands, a revision older first."""
    differ = asks_where_sources_differ(question) and not asks_what_changed(question)
    revised = [
        _Change([change.before, change.after], _revised_words(change.before, change.after))
        for story in comparison.versions
        for change in story.changes
        if change.kind == "changed" and change.before and change.after
        # where reports differ, a revision differs in its figures (14 -> 23 admissions)
        and not (differ and change.numbers_before == change.numbers_after)
    ]
    added = [
        _Change(paragraph, " ".join(c.quote for c in paragraph))
        for story in comparison.versions
        for paragraph in _by_paragraph(
            [c.after for c in story.changes if c.kind == "added" and c.after]
        )
    ]
    figures = [_Change(_one_per_figure(c), _figure_words(c)) for c in comparison.conflicts]
    if not asks_what_changed(question):
        added = []
        revised = revised if differ else []
    if not asks_what_changed(question) and not asks_where_sources_differ(question):
        bar = _similarities(question, [shown[0].text], answers)[0] if shown else 0.0
        near = _similarities(question, [f.focus for f in figures], answers)
        figures = [f for f, similarity in zip(figures, near) if similarity > bar]
    # "What changed in the updated version?": its revisions, the closest to the question first
    found = _closest(question, revised, answers, COMPARE_REVISIONS)
    found += _closest(question, added, answers, COMPARE_ADDED)  # what the newer one reports
    if asks_where_sources_differ(question):  # "What do the outlets disagree on?": each one,
        # before what one outlet revised in its own story
        conflicts = _closest(question, figures, answers, COMPARE_CONFLICTS, CONFLICT_MARGIN)
        found = conflicts + found if differ else found + conflicts
    else:
        found += _closest(question, figures, answers)
    quoted = [c for change in found for c in change.citations[:COMPARE_FIGURES]]
    unique = {(c.file, c.start): c for c in quoted}.values()
    return [AnswerSentence(text=c.quote, citations=[c]) for c in unique]


def _by_paragraph(citations: list[Citation]) -> list[list[Citation]]:
    """Sentences a newer version adds, those of one paragraph together ("A man was arrested...
    He has been released on bail."): one addition, quoted whole."""
    paragraphs: dict[tuple[str, int], list[Citation]] = {}
    for citation in sorted(citations, key=lambda c: (c.file, c.start)):
        paragraphs.setdefault((citation.file, citation.line), []).append(citation)
    return list(paragraphs.values())


@dataclass
class _Change:
    citations: list[Citation]
    focus: str  # the words that changed, with a little of their context


def _revised_words(older: Citation, newer: Citation, around: int = 2) -> str:
    """The words a revision replaced and what replaced them, with `around` words either side."""
    before, after = older.quote.split(), newer.quote.split()
    kept: list[str] = []
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op != "equal":
            kept += (
                before[max(0, i1 - around) : i2 + around] + after[max(0, j1 - around) : j2 + around]
            )
    return " ".join(kept) or newer.quote


def _one_per_figure(conflict: Conflict) -> list[Citation]:
    """A cited clause for each figure the files state (the first file's, by name), smallest
    figure first: every side of the disagreement, not three files of one side."""
    by_value: dict[tuple[float, ...], Citation] = {}
    for citation in sorted(conflict.citations, key=lambda q: q.file):
        value = tuple(conflict.values.get(citation.file, []))
        by_value.setdefault(value, citation)
    return [by_value[v] for v in sorted(by_value)]


def _figure_words(conflict: Conflict, around: int = 4) -> str:
    """Each file's figure as written with `around` words either side, from the cited clauses."""
    parts = []
    for citation in conflict.citations:
        words = citation.quote.split()
        for figure in conflict.stated.get(citation.file, []):
            at = next((k for k, w in enumerate(words) if figure.split()[0] in w), None)
            if at is not None:
                parts.append(" ".join(words[max(0, at - around) : at + around + 1]))
    return " ".join(parts) or conflict.claim


def _closest(
    question: str,
    changes: list[_Change],
    answers: AnswerService,
    most: int = 1,
    margin: float = 1.0,
) -> list[_Change]:
    """The `most` changes closest to the question, closest first, each within `margin` of the
    closest's similarity."""
    if not changes:
        return []
    near = _similarities(question, [c.focus for c in changes], answers)
    order = [int(i) for i in np.argsort(-near) if near[i] >= near.max() - margin]
    return [changes[i] for i in order[:most]]


def _similarities(question: str, texts: list[str], answers: AnswerService) -> np.ndarray:
    if not texts:
        return np.zeros(0)
    matrix = answers.vectors.embed([question] + texts)
    return matrix[1:] @ matrix[0]


_CONTRACTION = re.compile(r"['’](?:ve|re|ll|d|m|s|t)$", re.IGNORECASE)  # "We've": no name
# a piece of a quotation: it opens one, or closes one ("...know why," he said.)
_QUOTE_PIECE = re.compile(r"^\W*[\"“]|[\"”]\s*(?:,?\s*(?:he|she|they|it|[A-Z]\w+)\s+\w+)?\W*$")


def _reported_alone(comparison: Comparison, files: set[str]) -> list[Claim]:
    """What only these files report: first each sentence holding a name or figure no other
    file gives ("who pocketed a £1.4 million pay package"), then the other claims only they
    make, statements before pieces of quotations."""
    shown: list[Claim] = []
    for detail in comparison.details:
        if detail.citation.file not in files or _CONTRACTION.search(detail.detail):
            continue
        at = detail.sentence.find(detail.citation.quote)
        if at < 0 or any(c.text == detail.sentence for c in shown):
            continue
        start = detail.citation.start - at
        cite = detail.citation.model_copy(
            update={"start": start, "end": start + len(detail.sentence), "quote": detail.sentence}
        )
        shown.append(Claim(text=detail.sentence, files=[cite.file], count=1, citations=[cite]))
    own = [c for c in comparison.single_source if set(c.files) <= files]
    own = [c for c in own if not any(c.text in s.text for s in shown)]
    return shown + sorted(own, key=lambda c: bool(_QUOTE_PIECE.search(c.text)))


def _relevant(question: str, claims: list[Claim], most: int, answers: AnswerService) -> list[Claim]:
    """The claims closest to the question (quotes, so supported as they stand)."""
    order = np.argsort(-_similarities(question, [c.text for c in claims], answers))[:most]
    return [claims[int(i)] for i in order]
