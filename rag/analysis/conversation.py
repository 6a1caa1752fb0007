"""A chat turn: the follow-up made standalone, then routed by its form (rag.answer.routes):
a short cited answer, the relevant points across files, or the relevant part of the
cross-source view."""

import time

import numpy as np

from rag.analysis.compare import Claim
from rag.analysis.service import AnalysisService
from rag.answer.compose import compose, ms
from rag.answer.followup import Turn, standalone
from rag.answer.generate import ChatGenerator, OnToken
from rag.answer.routes import route_of
from rag.answer.service import AnswerService, OnSentence
from rag.core.errors import LLMUnavailable
from rag.core.models import Answer, AnswerSentence
from rag.index.filters import Filters

COMPARE_CLAIMS = 3  # corroborated claims shown for a comparison request
COMPARE_SINGLES = 2  # and claims only one file reports


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
        return standalone(question, history)

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
        hits = self.answers.retrieve(question, max(top_k or 0, 10), filters)
        files = list(dict.fromkeys(hit.chunk.file for hit in hits))
        if len(files) < 2:
            return self.answers.ask(
                question, filters, top_k, mode, route="open", on_sentence=on_sentence
            )
        limit = self.answers.settings.max_files_per_request
        comparison = self.analysis.compare(files[:limit])
        shown = _relevant(question, comparison.corroborated, COMPARE_CLAIMS, self.answers)
        shown += _relevant(question, comparison.single_source, COMPARE_SINGLES, self.answers)
        sentences = [AnswerSentence(text=c.text, citations=c.citations) for c in shown]
        if on_sentence is not None:  # quotes: supported as they stand
            for sentence in sentences:
                on_sentence(sentence)
        timings = {"total_ms": ms(began)}
        return compose(question, "extractive", sentences, hits, None, timings)


def _relevant(question: str, claims: list[Claim], most: int, answers: AnswerService) -> list[Claim]:
    """The claims closest to the question (quotes, so supported as they stand)."""
    if not claims:
        return []
    matrix = answers.vectors.embed([question] + [c.text for c in claims])
    order = np.argsort(-(matrix[1:] @ matrix[0]))[:most]
    return [claims[int(i)] for i in order]
