"""Load shedding, request limits and sustained load, against `rag serve` in a subprocess."""

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.helpers import ARTICLES, OUTPUT, free_port, rag_env, rag_server, stop, wait_for

pytestmark = pytest.mark.slow  # `rag serve` under load in a subprocess

QUESTIONS = [
    "Who is the UN special envoy for Syria?",
    "How old was Anas Alkharboutli?",
    "How far did the insurgents retreat from Hama?",
    "How many people has the war killed?",
    "Who won the 2022 FIFA World Cup?",
]
LIMITS = {
    "RAG_MAX_CONCURRENT_REQUESTS": "2",
    "RAG_REQUEST_QUEUE_SECONDS": "0.2",
    "RAG_MAX_FILE_BYTES": "100000",
    "RAG_MAX_UPLOAD_BYTES": "250000",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory, scripted_llm):
    """`rag serve` on 127.0.0.1 with the sample articles, a slow LLM, and tight limits."""
    folder = tmp_path_factory.mktemp("load")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(LIMITS, RAG_DATA_DIR=str(folder / "rag"), RAG_MODE="extractive")
    env.update(RAG_LLM_BASE_URL=scripted_llm.url, RAG_LLM_MODEL="scripted")
    env.update(RAG_LLM_MAX_RETRIES="0", RAG_LLM_TIMEOUT="30")
    command = [sys.executable, "-m", "rag.interfaces.cli", "serve", "--ingest", str(ARTICLES)]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    with open(folder / "serve.log", "w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(f"{url}/readyz", 240, process)
        yield url, process
    finally:
        stop(process)


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return (
        int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1])
        / 1024
    )


def documents(url: str) -> list[str]:
    return [d["file"] for d in httpx.get(f"{url}/v1/documents", timeout=30).json()]


def test_oversized_bodies_get_a_413_naming_the_limit_and_index_nothing(server):
    url, _ = server
    before = documents(url)
    big = json.dumps({"question": "x" * 2_000_000})
    declared = httpx.post(
        f"{url}/v1/answer", content=big, headers={"content-type": "application/json"}, timeout=30
    )
    assert declared.status_code == 413 and "1,000,000 bytes" in declared.json()["detail"]

    def pieces():  # chunked: no Content-Length, the limit is found while reading
        yield b'{"question": "'
        for _ in range(40):
            yield b"y" * 50_000
        yield b'"}'

    chunked = httpx.post(
        f"{url}/v1/answer", content=pieces(), headers={"content-type": "application/json"}
    )
    assert chunked.status_code == 413 and "1,000,000 bytes" in chunked.json()["detail"]

    one_too_big = [("files", ("big.txt", b"Big news. " * 15_000, "text/plain"))]
    response = httpx.post(f"{url}/v1/documents", files=one_too_big, timeout=30)
    assert response.status_code == 400 and "100,000 bytes" in response.json()["detail"]
    too_much = [
        ("files", (f"part{i}.txt", f"Part {i} of the news. ".encode() * 4_500, "text/plain"))
        for i in range(3)
    ]  # each under the per-file limit, together over the upload limit
    response = httpx.post(f"{url}/v1/documents", files=too_much, timeout=30)
    assert response.status_code == 413 and "250,000 bytes" in response.json()["detail"]
    assert documents(url) == before  # nothing indexed
    ask = httpx.post(f"{url}/v1/answer", json={"question": QUESTIONS[0]}, timeout=60)
    assert ask.status_code == 200 and "Pedersen" in ask.json()["answer"]


def test_an_overload_is_shed_at_once_and_health_checks_still_answer(server, scripted_llm):
    url, _ = server
    scripted_llm.queue[:] = [
        {"delay": 3, "text": "Geir Pedersen is the UN special envoy for Syria [1]."}
    ] * 20
    start = threading.Barrier(8)

    finished: list[int] = []  # status codes in the order the replies came back

    def ask(_: int) -> tuple[int, httpx.Headers, str]:
        start.wait()
        payload = {"question": QUESTIONS[0], "mode": "llm"}
        response = httpx.post(f"{url}/v1/answer", json=payload, timeout=60)
        finished.append(response.status_code)
        return response.status_code, response.headers, response.text

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(ask, i) for i in range(8)]
        time.sleep(1.0)  # the admitted two are waiting on the LLM now
        health = httpx.get(f"{url}/healthz", timeout=10)
        answered_before_health = list(finished)
        results = [f.result() for f in futures]
    statuses = Counter(status for status, *_ in results)
    assert set(statuses) <= {200, 429}, results
    assert statuses[200] >= 2 and statuses[429] >= 1, statuses
    # shed at once: every 429 came back before the first answer the LLM held up
    assert finished.index(200) >= statuses[429], finished
    for status, headers, text in results:
        if status == 429:
            assert headers["retry-after"] == "1" and "busy" in json.loads(text)["detail"]
        else:
            assert "Pedersen" in json.loads(text)["answer"]
    # health answered while the admitted answers were still waiting on the LLM
    assert health.status_code == 200 and 200 not in answered_before_health
    OUTPUT.mkdir(exist_ok=True)
    (OUTPUT / "load-shedding.txt").write_text(
        f"8 concurrent llm answers, limit 2, LLM delay 3 s: {dict(statuses)}; "
        f"replies in this order: {finished}; /healthz answered during the overload\n"
    )


def test_sustained_load_has_no_server_errors_and_flat_memory(server):
    url, process = server
    statuses: Counter = Counter()
    failures: list[str] = []
    lock = threading.Lock()
    warm_rss: list[float] = []
    began = time.monotonic()

    def client(n: int) -> None:
        with httpx.Client(timeout=60) as http:
            i = n
            while time.monotonic() - began < 18:
                try:
                    payload = {"question": QUESTIONS[i % len(QUESTIONS)]}
                    status = http.post(f"{url}/v1/answer", json=payload).status_code
                except httpx.HTTPError as err:
                    failures.append(repr(err))
                    continue
                with lock:
                    statuses[status] += 1
                i += 1

    with ThreadPoolExecutor(3) as pool:
        for n in range(3):
            pool.submit(client, n)
        time.sleep(4)  # warm-up: caches filled, allocator settled
        warm_rss.append(rss_mb(process.pid))
    end_rss = rss_mb(process.pid)
    assert not failures, failures[:3]
    assert not [s for s in statuses if s >= 500], statuses
    assert statuses[200] >= 20, statuses
    assert end_rss <= warm_rss[0] * 1.1 + 20, (warm_rss[0], end_rss)
    OUTPUT.mkdir(exist_ok=True)
    (OUTPUT / "load-sustained.txt").write_text(
        f"18 s, 3 clients: {dict(statuses)}; RSS {warm_rss[0]:.0f} MB after warm-up, "
        f"{end_rss:.0f} MB at the end\n"
    )


def test_two_workers_answer_together_and_both_see_another_process_ingest(tmp_path):
    # a queue long enough that no request is shed: this is about answers, not load shedding
    env = rag_env(data_dir=str(tmp_path / "rag"), request_queue_seconds="300")
    with rag_server(ARTICLES, "workers.log", env, 240, "--workers", "2") as url:

        def ask(question: str) -> httpx.Response:
            return httpx.post(f"{url}/v1/answer", json={"question": question}, timeout=300)

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(ask, QUESTIONS * 6))
        assert {a.status_code for a in answers} == {200}

        extra = tmp_path / "extra"
        extra.mkdir()
        (extra / "lighthouse.txt").write_text(
            "The Zarqonite lighthouse reopened on Monday after a decade of repairs, officials said."
        )
        cli = [sys.executable, "-m", "rag.interfaces.cli", "ingest", str(extra)]
        subprocess.run(cli, env=env, check=True, capture_output=True)
        time.sleep(1.5)  # each worker re-reads the store's version at most once a second

        with ThreadPoolExecutor(4) as pool:  # new connections, spread over the workers
            later = list(pool.map(ask, ["When did the Zarqonite lighthouse reopen?"] * 12))
        for answer in later:
            cited = {c["file"] for s in answer.json()["sentences"] for c in s["citations"]}
            assert answer.status_code == 200 and cited == {"lighthouse.txt"}
        assert httpx.get(f"{url}/", timeout=10).status_code == 404  # the API only
