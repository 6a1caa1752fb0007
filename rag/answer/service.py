"""Answering: retrieve, score evidence, draft (extractive or LLM), verify, compose."""

import re
import time
from collections.abc import Callable
from dataclasses import replace

from rag.answer.acronyms import with_acronyms
from rag.answer.compose import abstain, compose, ms, sources_of
from rag.answer.evidence import (
    SIMILARITY_WEIGHT,
    SentenceVectors,
    on_topic,
    score_evidence,
)
from rag.answer.generate import Draft, Generator, OnToken, build_generator, overview_draft
from rag.answer.outlets import names_outlet, without_attribution
from rag.answer.reader import as_asked
from rag.answer.retrieve import HybridRetriever
from rag.answer.routes import (
    Route,
    asks_yes_or_no,
    names_asked,
    statement_speaker,
    statement_topic,
)
from rag.answer.statements import by_speaker, whole_quotation
from rag.answer.verify import Verifier
from rag.answer.versions import of_version, version_asked, without_version
from rag.core.errors import BadInput, LLMUnavailable
from rag.core.models import Answer, AnswerSentence, Chunk, Hit
from rag.core.modes import checked_mode
from rag.core.settings import Settings
from rag.core.text import content_terms
from rag.index.filters import Filters
from rag.index.store import ChunkStore

# a yes/no question ("Has anybody been detained?") is answered by the passages that say so:
# at most two points, each close to the best
YES_NO_POINTS = 2
YES_NO_SHARE = 0.85

# Terminal escape sequences (colours, titles) go whole; other control characters and lone
# surrogates (valid JSON, but not encodable text) become spaces.
_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")

OnSentence = Callable[[AnswerSentence], None] | None


class AnswerService:
    """Questions in, verified and cited answers (or abstentions) out."""

    def __init__(
        self,
        settings: Settings,
        store: ChunkStore,
        vectors: SentenceVectors,
        retriever: HybridRetriever,
        verifier: Verifier,
    ):
        self.settings = settings
        self.store = store
        self.vectors = vectors
        self.retriever = retriever
        self.verifier = verifier
        self._generators: dict[str, Generator] = {}

    def use_generator(self, mode: str, generator: Generator) -> None:
        """Answer in mode with this generator (e.g. an in-process model, or a test's fake)."""
        self._generators[mode] = generator

    def generator(self, mode: str | None) -> Generator:
        """The generator for mode (default: from settings); an unconfigured mode is refused."""
        mode = checked_mode(mode, self.settings)
        if mode not in self._generators:
            self._generators[mode] = build_generator(mode, self.settings)
        return self._generators[mode]

    def ask(
        self,
        question: str,
        filters: Filters | None = None,
        top_k: int | None = None,
        mode: str | None = None,
        on_token: OnToken = None,
        route: Route = "factoid",
        on_sentence: OnSentence = None,
    ) -> Answer:
        """A verified, cited answer, or an abstention when the sources do not say.

        on_token, if given, receives the generator's raw text as it is written (an LLM's tokens,
        unverified); on_sentence each sentence as soon as it is verified (supported or not);
        the returned Answer is what survived verification. An open question (route
        "open" or "summary") is answered with the relevant points of several passages, each
        citing every file that reports it, and abstains only when nothing is relevant.
        """
        question = self.clean_question(question)
        generator = self.generator(mode)
        timings: dict[str, float] = {}
        began = time.perf_counter()
        factoid = route == "factoid"
        depth = top_k or self.settings.top_k
        outlets = self.outlets_named(question)
        narrowed = bool(outlets) and not (filters and (filters.outlets or filters.files))
        if narrowed:  # "according to the Daily Beacon": from that outlet's files
            filters = replace(filters or Filters(), outlets=outlets)
        if unknown := self._unknown_names(question, outlets):
            note = f"no indexed article mentions {', '.join(unknown)}"
            answer = abstain(question, generator.name, timings, began)
            answer.note = note
            return answer
        # narrowed, the filter keeps to the outlet: the reader reads the bare question
        version = version_asked(question)  # "in the updated report": that version's passages
        bare = without_version(question) if version else question
        bare = without_attribution(bare, outlets) if narrowed else bare
        typed = as_asked(bare) if factoid else bare  # "how many live there" + "?"
        asked = with_acronyms(typed, self.retriever.lexical())
        depth = depth if factoid else max(depth, 10)
        # a version asked for: deeper, so that the story's other version is found to tell it by
        hits = self.retrieve(asked, 2 * depth if version else depth, filters)
        if version:
            hits = of_version(hits, version)[:depth]
        evidence = score_evidence(
            asked,
            hits,
            self.vectors,
            self.retriever.lexical().idf,
            self.settings.evidence_sentences if factoid else self.settings.open_evidence_sentences,
            SIMILARITY_WEIGHT if factoid else self.settings.open_similarity_weight,
            self.retriever.without_background(asked),
        )
        timings["retrieve_ms"] = ms(began)
        threshold = self.settings.abstain_threshold if factoid else self.settings.open_threshold
        # a factoid question put to the reader abstains on the reader's score, not this one
        reads = factoid and getattr(generator, "reader", None) is not None
        if not evidence or (evidence[0].score < threshold and not reads):
            return abstain(question, generator.name, timings, began)
        leading = evidence[: self.settings.reader_windows] if reads else evidence[:1]
        hits = hits + self._neighbours([ev.chunk for ev in leading], hits)
        idf = self.retriever.lexical().idf
        speaker = None if factoid else statement_speaker(asked)
        if speaker:
            evidence = by_speaker(speaker, evidence, idf) or evidence
        if not factoid and (topic := statement_topic(asked)):
            # a statement is about the topic when its quotation is
            text_of = whole_quotation if speaker else (lambda ev: ev.text)
            kept = on_topic(topic, evidence, idf, text_of)
            if kept and not speaker and len(kept) < self.settings.overview_points:
                # one sentence holding the topic's words ("security staff") is topped up with
                # the best of the rest that name what it is about ("reduced its overnight
                # security from three guards" for "security at the museum on the night")
                head = content_terms(topic)[:1]
                rest = [
                    ev
                    for ev in evidence
                    if all(ev is not k for k in kept) and set(head) <= set(content_terms(ev.text))
                ]
                kept += rest[: self.settings.overview_points - len(kept)]
            evidence = kept or evidence
        try:
            if not factoid and generator.name == "extractive":
                points, share = self.settings.overview_points, self.settings.overview_share
                if route == "summary":  # "Summarise the recall": the story, not one aspect
                    points, share = self.settings.summary_points, self.settings.summary_share
                if route == "open" and asks_yes_or_no(asked):
                    points, share = YES_NO_POINTS, max(YES_NO_SHARE, share)
                draft = overview_draft(
                    evidence,
                    threshold,
                    points,
                    share,
                    self.settings.overview_redundancy,
                )
            else:
                draft = generator.draft(asked, hits, evidence, on_token)
        except LLMUnavailable as err:
            err.sources = sources_of(hits)
            raise
        timings["generate_ms"] = ms(began) - timings["retrieve_ms"]
        sentences = self.verify(draft, hits, on_sentence)
        fallback = None
        if not any(s.supported for s in sentences) and generator.name != "extractive":
            if draft.abstained:
                return abstain(question, generator.name, timings, began)
            fallback = (
                draft.note or "no sentence of the LLM's answer was supported by its citations"
            )
            if self.settings.llm_fallback == "abstain":
                return abstain(question, generator.name, timings, began, fallback, sentences)
            draft = self.generator("extractive").draft(asked, hits, evidence)
            sentences += self.verify(draft, hits, on_sentence)
        timings["total_ms"] = ms(began)
        answer = compose(
            question,
            generator.name,
            sentences,
            hits,
            fallback,
            timings,
            draft.short,
            draft.confidence,
        )
        if narrowed and answer.note is None:
            answer.note = f"from {', '.join(outlets)} only (named in the question)"
        return answer

    def outlets_named(self, question: str) -> list[str]:
        """The outlets of indexed files that the question names, as written ("according to the
        Daily Beacon"): what a user asking that way wants the answer to come from."""
        if not names_asked(question):
            return []
        return sorted(o for o in self.retriever.lexical().outlets if names_outlet(question, o))

    def _unknown_names(self, question: str, outlets: list[str] | None = None) -> list[str]:
        """The names the question asks about when not one of them is in the corpus (then
        nothing retrieved can be about them); none when any is, or it names nothing. An
        outlet's name is known even when only the file's metadata holds it."""
        in_outlets = {w for o in outlets or [] for w in re.findall(r"[\w'’-]+", o)}
        names = [n for n in names_asked(question) if content_terms(n) and n not in in_outlets]
        lexical = self.retriever.lexical()
        # a hyphenated name is known by any of its parts ("Iran-aligned" where articles say
        # "Iran-backed")
        if not names or any(
            lexical.mentions(part) for name in names for part in name.split("-") if part
        ):
            return []
        return names

    def _neighbours(self, chunks: list[Chunk], hits: list[Hit]) -> list[Hit]:
        """Chunks around the leading evidence that retrieval missed: an answer may run on."""
        have = {hit.chunk.id for hit in hits}
        around = self.store.finished(self.store.neighbours(chunks))
        return [Hit(c, 0.0) for c in around if c.id not in have]

    def retrieve(
        self, question: str, top_k: int | None = None, filters: Filters | None = None
    ) -> list[Hit]:
        """The top_k passages for the question, of fully indexed files only."""
        question = self.clean_question(question)
        filters = filters.checked() if filters else None
        hits = self.retriever.retrieve(question, top_k or self.settings.top_k, filters)
        if filters and not hits:  # only then is the corpus scanned, to say why
            self._check_matches(filters)
        return self._finished(hits)

    def _check_matches(self, filters: Filters) -> None:
        """BadInput when no indexed article passes the filters (rather than "the sources do not
        say"), naming the undated files a date range leaves out."""
        files = self.retriever.lexical().files()
        if any(filters.matches(meta) for meta in files):
            return
        note = ""
        if filters.date_from or filters.date_to:
            undated = {meta["file"] for meta in files if not meta.get("date")}
            note = (
                f" ({len(undated)} undated files are left out by any date range)" if undated else ""
            )
        raise BadInput(f"no indexed article matches these filters{note}")

    def _finished(self, hits: list[Hit]) -> list[Hit]:
        """The hits whose chunk belongs to the current, fully indexed version of its file."""
        keep = {c.id for c in self.store.finished([hit.chunk for hit in hits])}
        return [hit for hit in hits if hit.chunk.id in keep]

    def verify(
        self, draft: Draft, hits: list[Hit], on_sentence: OnSentence = None
    ) -> list[AnswerSentence]:
        """Each claim checked against what it cites, then (if they do not state it) against the
        closest other retrieved passage, marked as attributed; an uncited one against its
        closest passage."""
        retrieved = [hit.chunk for hit in hits]
        verified = []
        for claim, chunks in draft.claims:
            if chunks:
                sentence = self.verifier.verify(claim, chunks)
                cited = {c.id for c in chunks}
                others = [c for c in retrieved if c.id not in cited]
                if not sentence.supported and others:  # cited the wrong passage?
                    elsewhere = self.verifier.attribute(claim, others)
                    sentence = elsewhere if elsewhere.supported else sentence
            else:
                sentence = self.verifier.attribute(claim, retrieved)
            if on_sentence is not None:
                on_sentence(sentence)
            verified.append(sentence)
        return verified

    def clean_question(self, question: str) -> str:
        """The question without control characters; empty or over-long ones are refused."""
        question = (question or "").strip()
        if len(question) > self.settings.max_question_chars:  # before any work on it
            raise BadInput(
                f"the question is {len(question):,} characters; the limit is "
                f"{self.settings.max_question_chars:,}"
            )
        question = " ".join(_CONTROL.sub(" ", _ESCAPE.sub("", question)).split())
        if not question:
            raise BadInput("the question is empty")
        if not re.search(r"\w", question):
            raise BadInput("the question has no words in it")
        return _UNMARKED_CONTRACTION.sub(r"\1’s", question)  # "whats the toll"


_UNMARKED_CONTRACTION = re.compile(r"\b(what|where|who|how|when|why)s\b", re.IGNORECASE)
