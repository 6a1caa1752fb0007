"""Streaming answers, summaries and the OpenAI-compatible route, on a real server on 127.0.0.1."""

import json
import threading
import time

import httpx
import openai
import pytest
import uvicorn

from rag.interfaces.api import create_app
from rag.pipeline import build_pipeline
from tests.helpers import ARTICLES, free_port

pytestmark = pytest.mark.slow  # a server process and a scripted LLM

QUESTION = "Who is the UN special envoy for Syria?"


@pytest.fixture(scope="module")
def server(sample_pipeline, scripted_llm):
    settings = sample_pipeline.settings.model_copy(
        update={"llm_base_url": scripted_llm.url, "llm_model": "scripted", "mode": "extractive"}
    )
    pipeline = build_pipeline(settings, sample_pipeline.store, sample_pipeline.embedder)
    port = free_port()
    config = uvicorn.Config(
        create_app(settings, pipeline), host="127.0.0.1", port=port, log_level="error"
    )
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    while not running.started:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(timeout=10)


def events(response: httpx.Response) -> list[tuple[str, dict]]:
    found, kind = [], None
    for line in response.iter_lines():
        if line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: "):
            found.append((kind, json.loads(line[6:])))
    return found


def stream_answer(server: str, **options) -> list[tuple[str, dict]]:
    """POST a streamed question; the events received."""
    payload = {"question": QUESTION, "stream": True, **options}
    with httpx.stream("POST", f"{server}/v1/answer", json=payload, timeout=60) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        return events(response)


def test_offline_streams_each_verified_sentence_then_the_answer_and_its_citations(server):
    with httpx.stream(
        "POST", f"{server}/v1/answer", json={"question": QUESTION, "stream": True}, timeout=60
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        got = events(response)
    kinds = [k for k, _ in got]
    assert kinds[-1] == "answer" and kinds.index("sentence") < kinds.index("token")
    answer = got[-1][1]
    verified = [s for k, s in got if k == "sentence"]  # each as it was verified, then the text
    assert verified == answer["sentences"]
    assert "".join(d["text"] for k, d in got if k == "token").strip() == answer["answer"]
    citations = [c for s in answer["sentences"] for c in s["citations"]]
    assert citations and all(c["quote"] for c in citations)
    plain = httpx.post(f"{server}/v1/answer", json={"question": QUESTION}, timeout=60).json()
    assert plain["answer"] == answer["answer"]


def test_streamed_llm_tokens_then_verified_sentences(server, scripted_llm):
    scripted_llm.queue.append(
        {"text": "Geir Pedersen is the UN special envoy for Syria [1]. He is 97 years old [1]."}
    )
    got = stream_answer(server, mode="llm")
    streamed = "".join(d["text"] for k, d in got if k == "token")
    assert "97 years old" in streamed  # raw tokens are the model's text
    answer = got[-1][1]
    assert answer["mode"] == "llm" and "97" not in answer["answer"]  # the invention was dropped
    flagged = [s for k, s in got if k == "sentence" and not s["supported"]]
    assert flagged and "numbers" in flagged[0]["reason"]


def test_streaming_a_dead_llm_reports_503_with_sources(server, scripted_llm):
    scripted_llm.queue += [{"status": 500}, {"status": 500}]
    got = stream_answer(server, mode="llm")
    kind, error = got[-1]
    assert kind == "error" and error["status"] == 503 and error["sources"]


def test_a_bad_streamed_question_is_still_a_plain_400(server):
    response = httpx.post(f"{server}/v1/answer", json={"question": " ", "stream": True})
    assert response.status_code == 400 and "empty" in response.json()["detail"]


def test_summaries_cite_every_sentence(server):
    body = httpx.post(f"{server}/v1/summarize", json={"length": 4}, timeout=60).json()
    assert len([s for s in body["sentences"] if s["supported"]]) == 4
    for sentence in body["sentences"]:
        for c in sentence["citations"]:
            text = (ARTICLES / c["file"]).read_text(encoding="utf-8")
            assert text[c["start"] : c["end"]] == c["quote"]
    one = httpx.post(
        f"{server}/v1/summarize",
        json={"files": ["004_41f9c137d467bf3b.txt"], "length": 2},
        timeout=60,
    ).json()
    assert {c["file"] for s in one["sentences"] for c in s["citations"]} == {
        "004_41f9c137d467bf3b.txt"
    }
    missing = httpx.post(f"{server}/v1/summarize", json={"files": ["nope.txt"]})
    assert missing.status_code == 404


def test_the_openai_client_talks_to_the_corpus(server):
    client = openai.OpenAI(base_url=f"{server}/v1", api_key="unused", max_retries=0)
    assert "citerag" in [m.id for m in client.models.list()]
    reply = client.chat.completions.create(
        model="citerag", messages=[{"role": "user", "content": QUESTION}]
    )
    text = reply.choices[0].message.content
    assert "Pedersen" in text and ".txt:L" in text
    citations = reply.model_extra["citations"]
    assert citations and all(f"[{c['file']}:L{c['line']}]" in text for c in citations)
    assert reply.model_extra["citerag"]["abstained"] is False


def test_the_openai_client_streams_with_citations_on_the_last_chunk(server):
    client = openai.OpenAI(base_url=f"{server}/v1", api_key="unused", max_retries=0)
    chunks = list(
        client.chat.completions.create(
            model="citerag-extractive",
            stream=True,
            messages=[
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": QUESTION},
            ],
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert "Pedersen" in text
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].model_extra["citations"]


def test_a_streamed_chat_opens_at_once_and_ends_with_the_checked_answer(server, scripted_llm):
    scripted_llm.queue.append({"delay": 3, "text": "Geir Pedersen is the UN envoy [1]."})
    replied = scripted_llm.replied
    body = {
        "model": "citerag-llm",
        "stream": True,
        "messages": [{"role": "user", "content": QUESTION}],
    }
    with httpx.stream("POST", f"{server}/v1/chat/completions", json=body, timeout=60) as reply:
        events = (json.loads(line[6:]) for line in reply.iter_lines() if line.startswith("data: {"))
        first = next(events)
        assert scripted_llm.replied == replied  # the stream opened while the LLM was writing
        rest = list(events)
    assert first["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(e["choices"][0]["delta"].get("content") or "" for e in rest if e["choices"])
    assert "Pedersen" in text and rest[-1]["citations"]
    assert rest[-1]["citerag"]["mode"] == "llm"


def test_a_failure_after_a_streamed_chat_opened_is_an_error_event(server, scripted_llm):
    scripted_llm.queue += [{"status": 500}] * 3  # the LLM fails, retries included
    body = {
        "model": "citerag-llm",
        "stream": True,
        "messages": [{"role": "user", "content": QUESTION}],
    }
    with httpx.stream("POST", f"{server}/v1/chat/completions", json=body, timeout=60) as reply:
        assert reply.status_code == 200
        lines = [line for line in reply.iter_lines() if line.startswith("data: ")]
    errors = [json.loads(line[6:])["error"] for line in lines if '"error"' in line]
    assert errors and errors[0]["code"] == 503 and lines[-1] == "data: [DONE]"
    scripted_llm.queue.clear()


@pytest.mark.parametrize(
    "payload, status",
    [
        ({"model": "gpt-9", "messages": [{"role": "user", "content": "Who?"}]}, 400),
        ({"model": "citerag", "messages": []}, 422),
        ({"model": "citerag", "messages": [{"role": "system", "content": "hi"}]}, 400),
    ],
)
def test_bad_chat_requests(server, payload, status):
    assert httpx.post(f"{server}/v1/chat/completions", json=payload).status_code == status


def test_a_slow_answer_does_not_block_other_requests(server, scripted_llm):
    scripted_llm.queue.append({"delay": 4, "text": "Geir Pedersen is the envoy [1]."})
    slow = threading.Thread(
        target=lambda: httpx.post(
            f"{server}/v1/answer", json={"question": QUESTION, "mode": "llm"}, timeout=60
        )
    )
    slow.start()
    time.sleep(1.0)
    assert httpx.get(f"{server}/healthz").status_code == 200
    assert httpx.post(f"{server}/v1/answer", json={"question": QUESTION}, timeout=30).is_success
    assert slow.is_alive(), "the other answers waited for the slow LLM call to finish"
    slow.join()
