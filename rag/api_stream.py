"""Streaming and OpenAI-compatible renderings of pipeline answers (used by rag.api)."""

import json
import queue
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from rag.errors import BadInput, LLMUnavailable, NotFound, RagError
from rag.models import Answer

MODELS = {
    "citerag": None,
    "citerag-extractive": "extractive",
    "citerag-llm": "llm",
    "citerag-llamacpp": "llamacpp",
}


def sse(event: str, data: Any) -> str:
    """One server-sent event."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def error_payload(err: Exception) -> dict:
    """What a failed request reports: an HTTP-like status, the message, any sources found."""
    status = 404 if isinstance(err, NotFound) else 400 if isinstance(err, BadInput) else 503
    payload: dict = {"status": status, "detail": str(err)}
    if isinstance(err, LLMUnavailable):
        payload["sources"] = [s.model_dump() for s in err.sources]
    return payload


def run_streaming(ask: Callable[[Callable[[str], None]], Answer]) -> Iterator[tuple[str, Any]]:
    """Run ask(on_token) in a thread; yield ("token", text) as it writes, then the outcome."""
    tokens: queue.Queue[str | None] = queue.Queue()
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["answer"] = ask(tokens.put)
        except RagError as err:
            outcome["error"] = err
        finally:
            tokens.put(None)

    threading.Thread(target=work, daemon=True).start()
    while (token := tokens.get()) is not None:
        yield "token", token
    if "error" in outcome:
        yield "error", outcome["error"]
    else:
        yield "answer", outcome["answer"]


def answer_events(ask: Callable[[Callable[[str], None]], Answer]) -> Iterator[str]:
    """SSE for /v1/answer: token events, then each verified sentence, then the whole answer.

    Tokens are the generator's raw text (an LLM's, unverified); the sentence and answer events
    carry what survived verification, citations included.
    """
    streamed = False
    for kind, value in run_streaming(ask):
        if kind == "token":
            streamed = True
            yield sse("token", {"text": value})
        elif kind == "error":
            yield sse("error", error_payload(value))
        else:
            if not streamed:
                yield from (sse("token", {"text": piece}) for piece in _pieces(value.answer))
            for sentence in value.sentences:
                yield sse("sentence", sentence.model_dump())
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
    """The OpenAI chat request; sampling options are accepted and ignored."""

    model_config = ConfigDict(extra="allow")
    model: str = Field("citerag", description=f"One of: {', '.join(MODELS)}")
    messages: list[ChatMessage] = Field(..., min_length=1)
    stream: bool = False

    def question(self) -> str:
        for message in reversed(self.messages):
            if message.role == "user":
                return message.text()
        raise BadInput("the conversation has no user message")

    def mode(self) -> str | None:
        if self.model not in MODELS:
            raise BadInput(f"unknown model {self.model!r}; choose one of: {', '.join(MODELS)}")
        return MODELS[self.model]


def numbered_citations(answer: Answer) -> list[dict]:
    """Citations of the supported sentences, flat, each with its sentence's index."""
    return [
        {"sentence": i, **c.model_dump()}
        for i, s in enumerate(answer.sentences)
        if s.supported
        for c in s.citations
    ]


def chat_completion(answer: Answer, model: str) -> dict:
    """An OpenAI chat.completion whose text carries inline markers and whose extras carry data."""
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": answer.answer},
            }
        ],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        "citations": numbered_citations(answer),
        "citerag": answer.model_dump(),
    }


def chat_chunks(answer: Answer, model: str) -> Iterator[str]:
    """The verified answer as chat.completion.chunk events; citations ride on the last one."""
    base = {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }
    first = True
    for piece in _pieces(answer.answer):
        delta = {"role": "assistant", "content": piece} if first else {"content": piece}
        first = False
        yield f"data: {json.dumps({**base, 'choices': [{'index': 0, 'delta': delta}]})}\n\n"
    last = {
        **base,
        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
        "citations": numbered_citations(answer),
        "citerag": answer.model_dump(),
    }
    yield f"data: {json.dumps(last)}\n\n"
    yield "data: [DONE]\n\n"
