"""Keys never leak: not in responses, not in any log line, whatever fails."""

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
import uvicorn

from rag.core.settings import Settings
from rag.interfaces.api import create_app
from rag.pipeline import Pipeline, build_pipeline
from tests.helpers import free_port
from tests.llm_servers import ScriptedServer

API_KEY = "sk-test-SECRET-123"
LLM_KEY = "sk-test-LLMSECRET-456"
SECRETS = [API_KEY, LLM_KEY, "SECRET-123", "LLMSECRET-456"]
LOGGERS = ["", "rag", "uvicorn", "uvicorn.error", "uvicorn.access", "fastapi", "httpx"]
LOGGERS += ["httpcore", "openai", "openai._base_client", "chromadb", "gradio"]
ENVOY = "Who is the UN special envoy for Syria?"


@contextmanager
def serving(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The app under a real uvicorn on 127.0.0.1, its logs going to the root logger."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, log_level="debug", access_log=True
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def every_log(caplog, monkeypatch):
    """caplog at DEBUG for every logger, including ones a uvicorn config stopped propagating."""
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
        if name:
            monkeypatch.setattr(logging.getLogger(name), "propagate", True)
    return caplog


def secret_pipeline(sample, monkeypatch, llm_url: str, retries: int = 1) -> Pipeline:
    """The sample index behind settings that carry both keys (the API's from RAG_API_KEY)."""
    monkeypatch.setenv("RAG_API_KEY", API_KEY)
    monkeypatch.setenv("RAG_LLM_API_KEY", LLM_KEY)
    settings = Settings(
        data_dir=sample.settings.data_dir,
        llm_base_url=llm_url,
        llm_max_retries=retries,
        llm_timeout=2,
    )
    assert (settings.api_key, settings.llm_api_key) == (API_KEY, LLM_KEY)
    return build_pipeline(settings, sample.store, sample.embedder)


def failing_requests(base: str) -> list[httpx.Response]:
    """Requests that fail every way a client can make them fail, with and without the key."""
    auth = {"Authorization": f"Bearer {API_KEY}"}
    llm = {"question": ENVOY, "mode": "llm"}
    chat = {"model": "citerag-llm", "messages": [{"role": "user", "content": ENVOY}]}
    with httpx.Client(base_url=base, timeout=60) as client:
        responses = [
            client.post("/v1/answer", json={"question": ENVOY}),
            client.post("/v1/answer", json={"question": ENVOY}, headers={"Authorization": "x"}),
            client.post(
                "/v1/answer", json={"question": ENVOY}, headers={"Authorization": "Bearer sk-x"}
            ),
            client.get("/v1/documents", headers={"Authorization": f"Basic {API_KEY}"}),
            client.post("/v1/answer", json={"question": 42}, headers=auth),
            client.post("/v1/answer", content=b'{"question": ', headers=auth),
            client.post("/v1/answer", json={"question": "\x00"}, headers=auth),
            client.post("/v1/answer", json=llm, headers=auth),
            client.post("/v1/answer", json={**llm, "stream": True}, headers=auth),
            client.post("/v1/chat/completions", json=chat, headers=auth),
            client.post("/v1/summarize", json={"mode": "llm", "length": 2}, headers=auth),
            client.get("/v1/documents/nope.txt", headers=auth),
            client.get("/readyz"),
        ]
    return responses


def assert_no_secret(responses: list[httpx.Response], caplog) -> None:
    seen = [r.text + str(dict(r.headers)) for r in responses]
    for record in caplog.records:
        seen.append(record.getMessage())
        if record.exc_info:
            seen.append(logging.Formatter().formatException(record.exc_info))
    seen.append(caplog.text)
    leaks = [text[:300] for text in seen for secret in SECRETS if secret in text]
    assert leaks == []


def test_a_dead_llm_and_bad_requests_leak_no_key(sample_pipeline, monkeypatch, every_log):
    dead = f"http://127.0.0.1:{free_port()}/v1"
    pipeline = secret_pipeline(sample_pipeline, monkeypatch, dead)
    with serving(create_app(pipeline.settings, pipeline)) as base:
        responses = failing_requests(base)
    statuses = [r.status_code for r in responses]
    assert statuses == [401, 401, 401, 401, 422, 422, 400, 503, 200, 503, 503, 404, 200]
    assert '"status": 503' in responses[8].text  # the stream's error event
    assert any(r.name.startswith("uvicorn") for r in every_log.records)  # logs were captured
    assert any(r.name.startswith(("openai", "httpx")) for r in every_log.records)
    assert_no_secret(responses, every_log)


def test_an_llm_error_that_echoes_the_key_is_not_passed_on(sample_pipeline, monkeypatch, every_log):
    """Some proxies put the key they were sent in their error body; it must go no further."""
    server = ScriptedServer()
    try:
        pipeline = secret_pipeline(sample_pipeline, monkeypatch, server.url, retries=0)
        responses = []
        with serving(create_app(pipeline.settings, pipeline)) as base:
            for status in [500, 429, 401]:  # the failed, rate-limited and refused branches
                echo = {"status": status, "body": {"error": {"message": f"bad key {LLM_KEY}"}}}
                server.queue += [echo] * 4
                responses += failing_requests(base)[7:11]
    finally:
        server.close()
    assert [r.status_code for r in responses] == [503, 200, 503, 503] * 3
    assert len(server.requests) == 12  # every one reached the server and got the echo
    assert_no_secret(responses, every_log)
