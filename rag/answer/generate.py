"""Answer generators behind one interface: extractive (default) and LLM (OpenAI-compatible)."""

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from rag.answer.check import as_statement
from rag.answer.citations import parse_cited_text
from rag.answer.entailment import load_entailment
from rag.answer.evidence import Evidence, name_phrases
from rag.answer.extract import Reply, read_answer
from rag.answer.prompts import load_prompt
from rag.answer.routes import asks_who_unnamed, lead_fits, names_someone
from rag.answer.statements import said_by
from rag.core.errors import BadInput, LLMUnavailable
from rag.core.models import Chunk, Hit, one_chunk_per_file
from rag.core.modes import checked_mode, llm_key
from rag.core.settings import Settings
from rag.core.text import content_terms, is_organisation

log = logging.getLogger(__name__)
ABSTAIN_TEXT = "The sources do not say."
OnToken = Callable[[str], None] | None
_ABSTAIN_PHRASES = re.compile(
    r"sources? (?:do|does) ?n[o']t (?:say|contain|mention|state)|no (?:passage|source) "
    r"(?:says|mentions|contains)|not (?:mentioned|stated|specified) in the (?:passages|sources)|"
    r"i (?:do not|don't) know|cannot be determined from",
    re.IGNORECASE,
)


@dataclass
class Draft:
    """Unverified sentences, each with the chunks it cites."""

    claims: list[tuple[str, list[Chunk]]] = field(default_factory=list)
    abstained: bool = False
    note: str | None = None
    short: str | None = None  # the span that answers, when an extractive reader found one
    confidence: float | None = None  # the reader's probability that its best window answers


class Generator(Protocol):
    name: str

    def draft(
        self, question: str, hits: list[Hit], evidence: list[Evidence], on_token: OnToken = None
    ) -> Draft: ...


class ExtractiveGenerator:
    """The reader's answer (rag.answer.extract): the span that answers and the sentence that
    says it, or an abstention when no candidate is likely enough to answer.

    With the reader off (settings.reader), the best evidence sentences are quoted as they rank,
    and the evidence threshold decides abstention (the baseline the reader is measured against).
    """

    name = "extractive"

    def __init__(self, settings: Settings):
        from rag.answer.reader import load_reader

        self.max_sentences = settings.max_answer_sentences
        self.threshold = settings.abstain_threshold
        self.windows = settings.reader_windows
        self.first_windows = settings.reader_first_windows
        self.reader = load_reader(settings.reader_model) if settings.reader == "shipped" else None
        self.reader_threshold = settings.reader_threshold
        self.observe = None  # a hook that sees every window the reader scores (training only)
        self.check = load_entailment() if settings.answer_check == "entailment" else None
        self.check_threshold = settings.answer_check_threshold

    def draft(
        self, question: str, hits: list[Hit], evidence: list[Evidence], on_token: OnToken = None
    ) -> Draft:
        clusters = cluster_near_duplicates(evidence[:40])
        if not clusters:
            return Draft(abstained=True)
        if self.reader is None:
            return self._ranked(clusters)
        reply = read_answer(
            self.reader,
            question,
            clusters,
            hits,
            self.windows,
            self.reader_threshold,
            self.observe,
            self.first_windows,
        )
        if not self._answers(question, reply):
            return Draft(abstained=True, confidence=reply.probability)
        claims = [(span.text, chunks) for span, chunks in reply.sentences]
        short = reply.short if lead_fits(question, reply.short) else None
        if short is None and _names_no_one_new(question, [text for text, _ in claims]):
            return Draft(abstained=True, confidence=reply.probability)
        return Draft(claims=claims, short=short, confidence=reply.probability)

    def _answers(self, question: str, reply: Reply) -> bool:
        """Is the reader's answer shown? When the reader is sure enough and, with the check,
        the cited sentences support the question answered (rag.answer.check)."""
        if self.check is None or not reply.answers:
            return reply.answers
        if not reply.short.strip():
            return False
        premise = " ".join(span.text for span, _ in reply.sentences)
        return self.support(question, reply.short, premise) >= self.check_threshold

    def support(self, question: str, short: str, premise: str) -> float:
        assert self.check is not None
        return self.check.probability(as_statement(question, short), premise)

    def _ranked(self, clusters: list[list[Evidence]]) -> Draft:
        best = clusters[0][0].score
        if best < self.threshold:
            return Draft(abstained=True)
        chosen = [clusters[0]]
        for cluster in clusters[1:]:
            if len(chosen) >= self.max_sentences or cluster[0].score < max(
                0.92 * best, self.threshold
            ):
                break
            chosen.append(cluster)
        return Draft(
            claims=[(c[0].text, one_chunk_per_file([ev.chunk for ev in c])) for c in chosen]
        )


def _names_no_one_new(question: str, sentences: list[str]) -> bool:
    """Does an answer to "who" name no one but whom the question names ("Who chairs the Veldon
    Trust?" "It is owned by the Veldon Trust, an independent charity...")?"""
    return asks_who_unnamed(question) and not any(
        names_someone(text, besides=question) for text in sentences
    )


def overview_draft(
    evidence: list[Evidence], floor: float, points: int, share: float, redundancy: float = 0.0
) -> Draft:
    """The relevant points for an open question: distinct sentences scoring at least floor and
    `share` of the best, each citing every file that carries it. They are picked by maximal
    marginal relevance (Carbonell and Goldstein 1998): score minus `redundancy` times the
    similarity to the closest point already picked; then shown best first."""
    clusters = cluster_near_duplicates(evidence[:60])
    if not clusters:
        return Draft(abstained=True)
    bar = max(floor, share * clusters[0][0].score)
    eligible = [c for c in clusters if c[0].score >= bar]
    chosen: list[list[Evidence]] = []
    shown: list[str] = []
    while eligible and len(chosen) < points:
        pick = max(eligible, key=lambda c: _marginal(c[0], chosen, redundancy))
        eligible.remove(pick)
        text = _point_text(pick[0])
        if any(text in other or other in text for other in shown):
            continue  # two sentences of one quotation, each shown as the whole of it
        chosen.append(pick)
        shown.append(text)
    order = sorted(range(len(chosen)), key=lambda k: -chosen[k][0].score)
    return Draft(
        claims=[(shown[k], one_chunk_per_file([ev.chunk for ev in chosen[k]])) for k in order]
    )


_QUOTE_OPEN = re.compile(r"^\s*[\"“]")
_SAID_BY_PRONOUN = re.compile(r"[,.!?][\"”]\s*(?:he|she|they)\s+(?:said|added|told)\b", re.I)


def _point_text(point: Evidence) -> str:
    """A point as shown: a whole quotation, never a piece of one, and followed by the
    quotation its speaker goes on with."""
    whole = _whole_quotation(point)
    return whole if whole != point.text else _with_quote(point)


def _whole_quotation(point: Evidence, most: int = 2) -> str:
    """The point with the rest of the quotation it is part of (at most `most` sentences more):
    '"The authority found money for new ticket machines last year.' goes on to 'It can find
    money for the people who drive the trams," she said.'."""
    spans = point.chunk.spans()
    at = next((k for k, s in enumerate(spans) if s.start == point.start), None)
    if at is None:
        return point.text
    if _opens_quote(point.text):
        ahead = spans[at + 1 : at + 1 + most]
        for k, sentence in enumerate(ahead):
            if _closes_quote(sentence.text):
                return " ".join([point.text] + [s.text for s in ahead[: k + 1]])
    if _closes_quote(point.text):
        behind = spans[max(0, at - most) : at]
        for k in range(len(behind) - 1, -1, -1):
            if _opens_quote(behind[k].text):
                return " ".join([s.text for s in behind[k:]] + [point.text])
    return point.text


def _opens_quote(sentence: str) -> bool:
    """The sentence opens a quotation it does not close."""
    if sentence.count("“") != sentence.count("”"):
        return sentence.count("“") > sentence.count("”")
    return sentence.count('"') % 2 == 1 and sentence.lstrip().startswith('"')


def _closes_quote(sentence: str) -> bool:
    """The sentence closes a quotation opened before it."""
    if sentence.count("“") != sentence.count("”"):
        return sentence.count("”") > sentence.count("“")
    return sentence.count('"') % 2 == 1 and not sentence.lstrip().startswith('"')


def _with_quote(point: Evidence, most: int = 2) -> str:
    """The point with the quotation that follows it in its passage and is attributed to the
    same speaker by a pronoun (\"Its chief executive rejected the criticism.\" then \"\"We did
    not cause this flood. ...,\" he said.\") or as the organisation it names (\"..., said Fiona
    Gask, a spokesperson for the company.\"): what was said, not only that it was."""
    after = [s for s in point.chunk.spans() if s.start >= point.end][:most]
    if not after or not _QUOTE_OPEN.match(after[0].text):
        return point.text
    organisations = [n for n in name_phrases(point.text) if is_organisation(n)]
    for k, sentence in enumerate(after):
        by = (
            said_by(sentence) if organisations else ""
        )  # "..., said X, a spokesperson for the company"
        if _SAID_BY_PRONOUN.search(sentence.text) or any(n in by for n in organisations):
            return " ".join([point.text] + [s.text for s in after[: k + 1]])
    return point.text


def _marginal(candidate: Evidence, chosen: list[list[Evidence]], redundancy: float) -> float:
    closest = max((float(np.dot(candidate.vector, c[0].vector)) for c in chosen), default=0.0)
    return candidate.score - redundancy * closest


def cluster_near_duplicates(
    evidence: list[Evidence], cosine: float = 0.88, jaccard: float = 0.6
) -> list[list[Evidence]]:
    """Group sentences that say the same thing, best first; the first member represents each."""
    clusters: list[list[Evidence]] = []
    for ev in evidence:
        terms = set(content_terms(ev.text))
        for cluster in clusters:
            rep = cluster[0]
            rep_terms = set(content_terms(rep.text))
            overlap = len(terms & rep_terms) / max(1, len(terms | rep_terms))
            if float(np.dot(ev.vector, rep.vector)) >= cosine or overlap >= jaccard:
                cluster.append(ev)
                break
        else:
            clusters.append([ev])
    return clusters


class ChatGenerator:
    """Any OpenAI-compatible chat endpoint: numbered passages in, [n] citations out."""

    name = "llm"

    def __init__(self, settings: Settings, complete=None):  # type: ignore[no-untyped-def]
        self.settings = settings
        self.prompt = load_prompt(settings.prompts_dir, settings.answer_prompt)
        self.complete = complete or _openai_completer(settings)

    def summarize(self, hits: list[Hit], length: int) -> Draft:
        """Cited summary sentences of these passages (one map step of a summary)."""
        prompt = load_prompt(self.settings.prompts_dir, self.settings.summary_prompt)
        text = self.complete(prompt.render(passages=format_passages(hits), length=str(length)))
        return self._claims(text, hits)

    def condense(self, question: str, history: str) -> str | None:
        """The follow-up rewritten to stand alone (prompts/condense.md), or None when the
        reply is not a plausible question."""
        prompt = load_prompt(self.settings.prompts_dir, self.settings.condense_prompt)
        reply = self.complete(prompt.render(history=history, question=question))
        line = (reply or "").strip().splitlines()[0].strip() if (reply or "").strip() else ""
        if not re.search(r"\w", line) or len(line) > 3 * len(question) + 80:
            return None
        return line

    def draft(
        self, question: str, hits: list[Hit], evidence: list[Evidence], on_token: OnToken = None
    ) -> Draft:
        messages = self.prompt.render(question=question, passages=format_passages(hits))
        text = self.complete(messages, on_token)
        if not text or not text.strip():
            return Draft(note="the LLM returned no text")
        if _ABSTAIN_PHRASES.search(text) and len(text) < 200:
            return Draft(abstained=True)
        return self._claims(text, hits)

    def _claims(self, text: str, hits: list[Hit]) -> Draft:
        claims = []
        for parsed in parse_cited_text(text, len(hits)):
            claims.append((parsed.text, [hits[n - 1].chunk for n in parsed.passages]))
            if parsed.invalid:
                log.info("LLM cited passages that were not given: %s", parsed.invalid)
        return Draft(claims=claims)


def format_passages(hits: list[Hit]) -> str:
    """Numbered passages with where they come from."""
    blocks = []
    for n, hit in enumerate(hits, start=1):
        meta = hit.chunk.metadata
        origin = ", ".join(x for x in (hit.chunk.file, meta.get("outlet"), meta.get("date")) if x)
        blocks.append(f"[{n}] ({origin})\n{hit.chunk.text}")
    return "\n\n".join(blocks)


def _openai_completer(settings: Settings):  # type: ignore[no-untyped-def]
    import openai

    key = llm_key(settings)
    if not (settings.llm_base_url or key):  # else the SDK would send everything to OpenAI
        checked_mode("llm", settings)
    client = openai.OpenAI(
        base_url=settings.llm_base_url,
        api_key=key or "not-needed",
        timeout=settings.llm_timeout,
        max_retries=settings.llm_max_retries,
    )

    def complete(messages: list[dict[str, str]], on_token: OnToken = None) -> str:
        try:
            response = client.chat.completions.create(
                model=settings.llm_model,
                messages=messages,  # type: ignore[arg-type]
                temperature=0,
                max_tokens=settings.llm_max_tokens,
                stream=on_token is not None,
            )
            if on_token is not None:
                return _collect_stream(response, on_token, settings.llm_timeout)
        except (
            openai.APIConnectionError,
            openai.APITimeoutError,
            openai.InternalServerError,
            openai.RateLimitError,
        ) as err:
            # An error body is the provider's text and some echo the key they were sent: the
            # status code is all that goes on (to the caller, and to logs through the caller).
            said = err.status_code if isinstance(err, openai.APIStatusError) else err
            raise LLMUnavailable(f"the LLM endpoint failed: {type(err).__name__}: {said}") from err
        except openai.APIStatusError as err:
            raise LLMUnavailable(
                f"the LLM endpoint refused the request: {err.status_code}"
            ) from err
        choices = response.choices  # type: ignore[union-attr]
        return choices[0].message.content or "" if choices else ""

    return complete


def _collect_stream(response, on_token: Callable[[str], None], limit: float) -> str:  # type: ignore[no-untyped-def]
    """The streamed text, abandoned after limit seconds in all.

    The client's timeout only bounds each wait for the next piece; a server that keeps
    trickling tokens would otherwise hold the request (and its caller) indefinitely.
    """
    parts = []
    deadline = time.monotonic() + limit
    for chunk in response:
        if time.monotonic() > deadline:
            response.close()
            raise LLMUnavailable(f"the LLM endpoint was still writing after {limit:g}s")
        piece = chunk.choices[0].delta.content if chunk.choices else None
        if piece:
            parts.append(piece)
            on_token(piece)
    return "".join(parts)


def _llamacpp_completer(settings: Settings):  # type: ignore[no-untyped-def]
    """A GGUF model run in-process (the optional `llamacpp` extra); loaded once per generator."""
    if not settings.llm_model_path:
        raise BadInput("mode llamacpp needs RAG_LLM_MODEL_PATH (a .gguf file)")
    try:
        from llama_cpp import Llama
    except ImportError as err:
        raise BadInput("mode llamacpp needs: pip install 'citerag[llamacpp]'") from err
    model = Llama(model_path=str(settings.llm_model_path), n_ctx=4096, verbose=False)
    lock = threading.Lock()  # one llama.cpp context serves one request at a time

    def complete(messages: list[dict[str, str]], on_token: OnToken = None) -> str:
        with lock:
            reply = model.create_chat_completion(
                messages=messages,  # type: ignore[arg-type]
                temperature=0,
                max_tokens=settings.llm_max_tokens,
                stream=on_token is not None,
            )
            if on_token is None:
                return reply["choices"][0]["message"]["content"] or ""  # type: ignore[index]
            parts: list[str] = []
            for chunk in reply:
                delta: dict = chunk["choices"][0]["delta"]  # type: ignore[index,assignment]
                piece = str(delta.get("content") or "")
                if piece:
                    parts.append(piece)
                    on_token(piece)
            return "".join(parts)

    return complete


class LlamaCppGenerator(ChatGenerator):
    """The llm generator with a local GGUF model instead of an HTTP endpoint."""

    name = "llamacpp"

    def __init__(self, settings: Settings):
        super().__init__(settings, complete=_llamacpp_completer(settings))


GENERATORS: dict[str, type] = {
    "extractive": ExtractiveGenerator,
    "llm": ChatGenerator,
    "llamacpp": LlamaCppGenerator,
}


def build_generator(mode: str, settings: Settings) -> Generator:
    """The generator registered under mode; an unknown mode lists the valid ones."""
    if mode not in GENERATORS:
        raise BadInput(f"unknown mode {mode!r}; choose one of: {', '.join(GENERATORS)}")
    generator: Generator = GENERATORS[mode](settings)
    return generator
