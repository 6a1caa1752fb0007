"""Streaming and OpenAI-compatible renderings of pipeline answers (used by rag.interfaces.api)."""

import json
import logging
import queue
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from rag.answer.followup import Turn
from rag.core.cancel import cancellable
from rag.core.errors import BadInput, LLMUnavailable, NotFound, RagError
from rag.core.models import Answer, AnswerSentence
from rag.core.modes import MODES
from rag.index.store import store_failure

log = logging.getLogger(__name__)

# "citerag" answers in the configured default mode; "citerag-<mode>" in that mode.
MODELS: dict[str, str | None] = {"citerag": None, **{f"citerag-{m}": m for m in MODES}}


def sse(event: str, data: Any) -> str:
    """One server-sent event."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def error_payload(err: Exception) -> dict:
    """What a failed request reports: an HTTP-like status, the message, any sources found."""
    if not isinstance(err, RagError):  # the store's own failure, or a bug: say which, no trace
        damaged = store_failure(err)
        detail = str(damaged) if damaged else f"internal error ({type(err).__name__})"
        return {"status": 503 if damaged else 500, "detail": detail}
    status = 404 if isinstance(err, NotFound) else 400 if isinstance(err, BadInput) else 503
    payload: dict = {"status": status, "detail": str(err)}
    if isinstance(err, LLMUnavailable):
        payload["sources"] = [s.model_dump() for s in err.sources]
    return payload


Asker = Callable[[Callable[[str], None], Callable[[AnswerSentence], None]], Answer]


def run_streaming(ask: Asker, flag: threading.Event | None = None) -> Iterator[tuple[str, Any]]:
    """Run ask(on_token, on_sentence) in a thread; yield ("token", text) as the generator
    writes and ("sentence", AnswerSentence) as each sentence is verified, then the outcome
    ("answer", Answer) or ("error", exception): a stream always ends with one of them."""
    heard: queue.Queue[tuple[str, Any] | None] = queue.Queue()
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            with cancellable(flag):
                outcome["answer"] = ask(
                    lambda text: heard.put(("token", text)),
                    lambda sentence: heard.put(("sentence", sentence)),
                )
        except Exception as err:  # reported as the stream's error event, never lost
            if not isinstance(err, RagError):
                log.exception("a streamed answer failed")
            outcome["error"] = err
        finally:
            heard.put(None)

    threading.Thread(target=work, daemon=True).start()
    while (event := heard.get()) is not None:
        yield event
    if "error" in outcome:
        yield "error", outcome["error"]
    else:
        yield "answer", outcome["answer"]


def answer_events(ask: Asker, flag: threading.Event | None = None) -> Iterator[str]:
    """SSE for /v1/answer: token events as an LLM writes, a sentence event as each sentence is
    verified, then the whole answer.

    Tokens are the generator's raw text (an LLM's, unverified); the sentence and answer events
    carry what survived verification, citations included. Offline, where nothing is written
    before it is verified, the answer's text follows its sentences as tokens.
    """
    streamed = False
    for kind, value in run_streaming(ask, flag):
        if kind == "token":
            streamed = True
            yield sse("token", {"text": value})
        elif kind == "sentence":
            yield sse("sentence", value.model_dump())
        elif kind == "error":
            yield sse("error", error_payload(value))
        else:
            if not streamed:
                yield from (sse("token", {"text": piece}) for piece in _pieces(value.answer))
            yield sse("answer", value.model_dump())


def _pieces(text: str) -> list[str]:
    return re.findall(r"\S+\s*", text)


class ChatMessage(BaseModel):
    role: str
    content: str | list[dict] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return " ".join(str(part.get("text", "")) for part in self.content)
        return self.content or ""


class ChatRequest(BaseModel):
    """The OpenAI chat request. Sampling options are accepted (answers are deterministic);
    what citerag cannot do is refused rather than silently ignored."""

    model_config = ConfigDict(extra="allow")
    model: str = Field("citerag", description=f"One of: {', '.join(MODELS)}")
    messages: list[ChatMessage] = Field(..., min_length=1)
    stream: bool = False
    stream_options: dict | None = Field(None, description="include_usage: a usage chunk last.")
    n: int | None = Field(None, ge=1, description="Only 1: one verified answer per question.")
    max_tokens: int | None = Field(None, ge=1, description="Cut the answer after this many.")
    max_completion_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    tools: list[dict] | None = None
    tool_choice: str | dict | None = None
    response_format: dict | None = None

    def check_supported(self) -> None:
        """BadInput (a 400) for options an OpenAI-compatible server must honour or refuse."""
        if (self.n or 1) > 1:
            raise BadInput("n must be 1: citerag returns one verified answer per question")
        if self.tools and self.tool_choice not in (None, "auto", "none"):
            raise BadInput("citerag calls no tools: tool_choice must be 'auto' or 'none'")
        kind = (self.response_format or {}).get("type", "text")
        if kind != "text":
            raise BadInput(
                f"response_format {kind!r} is not supported: answers are text with citations"
            )

    def token_limit(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens

    def wants_usage(self) -> bool:
        return bool((self.stream_options or {}).get("include_usage"))

    def question(self) -> str:
        for message in reversed(self.messages):
            if message.role == "user":
                return message.text()
        raise BadInput("the conversation has no user message")

    def history(self) -> list[Turn]:
        """The user and assistant turns before the last user message (system ones dropped)."""
        last = max(i for i, m in enumerate(self.messages) if m.role == "user")
        return [
            Turn(m.role, m.text()) for m in self.messages[:last] if m.role in ("user", "assistant")
        ]

    def mode(self) -> str | None:
        if self.model not in MODELS:
            raise BadInput(f"unknown model {self.model!r}; choose one of: {', '.join(MODELS)}")
        return MODELS[self.model]


def _limited(answer: Answer, limit: int | None) -> tuple[list[str], str]:
    """The answer's pieces (a piece: a word with its trailing space, counted as one token),
    cut at limit, and the finish reason."""
    pieces = _pieces(answer.answer)
    if limit is not None and len(pieces) > limit:
        return pieces[:limit], "length"
    return pieces, "stop"


def _usage(request: "ChatRequest", completion: int) -> dict:
    """Token counts as words: citerag runs no tokenizer of the caller's model."""
    prompt = sum(len(m.text().split()) for m in request.messages)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def numbered_citations(answer: Answer) -> list[dict]:
    """Citations of the supported sentences, flat, each with its sentence's index."""
    return [
        {"sentence": i, **c.model_dump()}
        for i, s in enumerate(answer.sentences)
        if s.supported
        for c in s.citations
    ]


def chat_completion(answer: Answer, request: ChatRequest) -> dict:
    """An OpenAI chat.completion whose text carries inline markers and whose extras carry data."""
    pieces, finish = _limited(answer, request.token_limit())
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.model,
        "choices": [
            {
                "index": 0,
                "finish_reason": finish,
                "message": {"role": "assistant", "content": "".join(pieces).rstrip()},
            }
        ],
        "usage": _usage(request, len(pieces)),
        "citations": numbered_citations(answer),
        "citerag": answer.model_dump(),
    }


def chat_stream(
    ask: Callable[[], Answer], request: ChatRequest, flag: threading.Event | None = None
) -> Iterator[str]:
    """chat.completion.chunk events for a streamed chat: the assistant's role at once (so a
    client sees the stream open while the answer is found and checked), then the verified
    answer's pieces with its citations on the last chunk; a failure is an `error` event."""
    base = _chunk_base(request)
    opening = {"index": 0, "delta": {"role": "assistant", "content": ""}}
    yield f"data: {json.dumps({**base, 'choices': [opening]})}\n\n"
    for kind, value in run_streaming(lambda on_token, on_sentence: ask(), flag):
        if kind == "error":
            payload = error_payload(value)
            error = {
                "message": payload["detail"],
                "type": "citerag_error",
                "code": payload["status"],
            }
            yield f"data: {json.dumps({'error': error})}\n\n"
            yield "data: [DONE]\n\n"
        elif kind == "answer":
            yield from chat_chunks(value, request, base)


def _chunk_base(request: ChatRequest) -> dict:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": request.model,
    }


def chat_chunks(answer: Answer, request: ChatRequest, base: dict | None = None) -> Iterator[str]:
    """The verified answer as chat.completion.chunk events; citations ride on the last one.
    With `base` (a stream already opened with the role), the pieces carry content only."""
    opened = base is not None
    base = base or _chunk_base(request)
    pieces, finish = _limited(answer, request.token_limit())
    for n, piece in enumerate(pieces):
        delta = {"content": piece} if opened or n else {"role": "assistant", "content": piece}
        yield f"data: {json.dumps({**base, 'choices': [{'index': 0, 'delta': delta}]})}\n\n"
    last = {
        **base,
        "choices": [{"index": 0, "delta": {}, "finish_reason": finish}],
        "citations": numbered_citations(answer),
        "citerag": answer.model_dump(),
    }
    yield f"data: {json.dumps(last)}\n\n"
    if request.wants_usage():  # as OpenAI does: a last chunk with no choices and the usage
        usage = {**base, "choices": [], "usage": _usage(request, len(pieces))}
        yield f"data: {json.dumps(usage)}\n\n"
    yield "data: [DONE]\n\n"
