"""Helpers the tests share: settings that ignore the user's environment, ports, servers."""

import os
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import httpx

import rag  # noqa: F401  (offline environment first)
from rag.core.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
ARTICLES = ROOT / "data" / "articles"
OUTPUT = ROOT / "test-output"


def make_settings(data_dir: Path, **overrides) -> Settings:
    """Settings that ignore the user's environment and rag.toml."""
    for key in [k for k in os.environ if k.startswith("RAG_")]:
        os.environ.pop(key)
    return Settings(data_dir=data_dir, **overrides)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, seconds: float, process: subprocess.Popen | None = None) -> None:
    """Poll url until it answers 2xx; fail early if the process died."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(
                f"server exited with code {process.returncode} before {url} answered"
            )
        try:
            if httpx.get(url, timeout=2).is_success:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {seconds}s")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def running_server(
    command: list[str], ready_url: str, log_path: Path, seconds: float, env: dict | None = None
):
    """A server process on 127.0.0.1, waited for until ready_url answers, always stopped."""
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env or dict(os.environ)
        )
        try:
            wait_for(ready_url, seconds, process)
            yield
        finally:
            stop(process)


def rag_env(**settings: str) -> dict[str, str]:
    """This process's environment without the user's RAG_* settings, plus these (RAG_<KEY>)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    return env | {f"RAG_{key.upper()}": value for key, value in settings.items()}


@contextmanager
def rag_server(
    folder: Path, log_name: str, env: dict[str, str], seconds: float = 180, *options: str
):
    """`rag serve --ingest folder [options]` on a free port of 127.0.0.1; yields its URL."""
    import sys

    port = free_port()
    command = [sys.executable, "-m", "rag.interfaces.cli", "serve", "--ingest", str(folder)]
    command += list(options)
    url = f"http://127.0.0.1:{port}"
    OUTPUT.mkdir(exist_ok=True)
    with running_server(
        [*command, "--port", str(port)], f"{url}/readyz", OUTPUT / log_name, seconds, env
    ):
        yield url


class FakeCompleter:
    """An in-process LLM for fast tests: replies from a queue, records every prompt."""

    def __init__(self, *replies: str):
        self.replies = list(replies)
        self.prompts: list[list[dict[str, str]]] = []

    def __call__(self, messages: list[dict[str, str]], on_token=None) -> str:  # type: ignore[no-untyped-def]
        import re

        self.prompts.append(messages)
        text = self.replies.pop(0) if self.replies else ""
        if on_token is not None:
            for piece in re.findall(r"\S+\s*", text):
                on_token(piece)
        return text


def with_fake_llm(pipeline, completer: FakeCompleter):  # type: ignore[no-untyped-def]
    """A pipeline over the same store whose llm mode is the fake (no endpoint is contacted)."""
    from rag.answer.generate import ChatGenerator
    from rag.pipeline import build_pipeline

    unused = "http://127.0.0.1:9/v1"  # configures the mode; the fake answers instead
    settings = pipeline.settings.model_copy(update={"llm_base_url": unused, "mode": "llm"})
    faked = build_pipeline(settings, pipeline.store, pipeline.embedder)
    faked.answers.use_generator("llm", ChatGenerator(settings, complete=completer))
    return faked


class FakeEmbedder:
    """Hashed bag of words, 384 dimensions, unit length: no model, deterministic, fast."""

    name = "fake-bag-of-words"

    def embed(self, texts: list[str]):  # type: ignore[no-untyped-def]
        import hashlib

        import numpy as np

        from rag.core.text import content_terms

        vectors = np.zeros((len(texts), 384), dtype=np.float32)
        for row, text in enumerate(texts):
            for term in content_terms(text) or ["_"]:
                slot = int(hashlib.md5(term.encode()).hexdigest()[:8], 16) % 384
                vectors[row, slot] += 1.0
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
