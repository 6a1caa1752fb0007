"""Faults injected into real parts: a Chroma server killed and frozen under a running API, an
ingest killed halfway, and ingests racing queries."""

import itertools
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from rag.index.store import Filters
from rag.interfaces.api import create_app
from rag.pipeline import build_pipeline
from tests.helpers import ARTICLES, OUTPUT, free_port, make_settings, wait_for
from tests.llm_servers import ScriptedServer

pytestmark = pytest.mark.slow  # servers killed, frozen and restarted; ingests killed halfway

QUESTION = "Who is the UN special envoy for Syria?"


class ChromaServer:
    """A `chroma run` on 127.0.0.1 that a test can kill, freeze and restart on one port and path."""

    def __init__(self, path: Path):
        self.path = path
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        chroma = Path(sys.executable).parent / "chroma"
        command = [str(chroma), "run", "--path", str(self.path / "db")]
        command += ["--host", "127.0.0.1", "--port", str(self.port)]
        self.starts += 1
        with open(self.path / f"server-{self.starts}.log", "w") as log:
            self.process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
            )
        wait_for(f"{self.url}/api/v2/heartbeat", 60, self.process)

    def kill(self) -> None:
        """SIGKILL: no shutdown, sockets reset."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)

    def freeze(self) -> None:
        """SIGSTOP: the port still accepts connections, nothing answers."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.thaw()
            self.kill()


@pytest.fixture
def chroma(tmp_path):
    server = ChromaServer(tmp_path)
    try:
        server.start()
        yield server
    finally:
        server.close()


def timed(call, limit: float):  # type: ignore[no-untyped-def]
    """call() and its duration; fails (instead of hanging) when it takes longer than limit."""
    began = time.monotonic()
    pool = ThreadPoolExecutor(1)
    try:
        return pool.submit(call).result(timeout=limit), time.monotonic() - began
    except FutureTimeout:
        pytest.fail(f"no answer within {limit}s: the request hangs")
    finally:
        pool.shutdown(wait=False)  # a hung call finishes on its own once the fault is gone


def test_the_api_survives_its_chroma_server_being_killed_frozen_and_restarted(
    chroma, tmp_path, articles_copy
):
    settings = make_settings(
        tmp_path / "rag", chroma_url=chroma.url, collection="faults", chroma_timeout=3.0
    )
    pipeline = build_pipeline(settings)
    assert len(pipeline.ingest(articles_copy).added) == 5
    ask = {"question": QUESTION}
    note = [("files", ("late.txt", b"The envoy spoke again on Friday in Geneva.\n", "text/plain"))]
    with TestClient(create_app(settings, pipeline)) as client:
        calls = {
            "answer": lambda: client.post("/v1/answer", json=ask),
            "readyz": lambda: client.get("/readyz"),
            "documents": lambda: client.get("/v1/documents"),
            "upload": lambda: client.post("/v1/documents", files=note),
        }
        first = client.post("/v1/answer", json=ask)
        assert first.status_code == 200 and "Pedersen" in first.json()["answer"]

        chroma.kill()  # SIGKILL: connections refused
        down = {name: timed(call, limit=10) for name, call in calls.items()}
        stream, _ = timed(lambda: client.post("/v1/answer", json={**ask, "stream": True}), 10)
        assert client.get("/healthz").status_code == 200  # the process itself is fine

        chroma.start()  # same port and path: the same app reconnects, no restart
        again = client.post("/v1/answer", json=ask)
        assert again.status_code == 200 and again.json()["answer"] == first.json()["answer"]
        assert client.get("/readyz").json()["status"] == "ready"

        chroma.freeze()  # SIGSTOP: connections accepted, never answered
        try:
            frozen = {name: timed(calls[name], limit=10) for name in ("answer", "readyz")}
        finally:
            chroma.thaw()
        thawed = client.post("/v1/answer", json=ask)
        assert thawed.status_code == 200 and thawed.json()["answer"] == first.json()["answer"]
        files = [d["file"] for d in client.get("/v1/documents").json()]
    for name, (response, _) in [*down.items(), *frozen.items()]:
        assert response.status_code == 503, (name, response.text)
        assert "Chroma server" in response.json()["detail"], (name, response.text)
    assert '"status": 503' in stream.text and "Chroma server" in stream.text  # its error event
    assert "late.txt" not in files and len(files) == 5  # the failed upload left nothing
    OUTPUT.mkdir(exist_ok=True)
    (OUTPUT / "faults-chroma.txt").write_text(
        "".join(
            f"{phase} {name}: {response.status_code} in {seconds:.2f}s: {response.text[:160]}\n"
            for phase, outcomes in [("killed", down), ("frozen", frozen)]
            for name, (response, seconds) in outcomes.items()
        )
    )


POLL_COUNTS = """
import json, sys, time
import chromadb
from chromadb.config import Settings
client = chromadb.PersistentClient(path=sys.argv[1], settings=Settings(anonymized_telemetry=False))
while True:
    try:
        counts = {c.name: c.count() for c in client.list_collections()}
    except Exception as err:  # the writer may hold a lock for a moment
        counts = {"error": repr(err)}
    print(json.dumps(counts), flush=True)
    time.sleep(0.05)
"""


def sample_sentences() -> list[str]:
    text = " ".join(p.read_text(encoding="utf-8") for p in sorted(ARTICLES.iterdir()))
    return [s for s in re.split(r"(?<=[.!?])\s+", " ".join(text.split())) if 40 < len(s) < 200]


def write_wire_reports(folder: Path, numbers: range, edition: int = 0) -> None:
    """Small one-chunk articles from the sample's sentences, each with its own numbers."""
    sentences = sample_sentences()
    folder.mkdir(exist_ok=True)
    for i in numbers:
        sentence = sentences[i * 7 % len(sentences)]
        calls = i * 37 % 1000 + edition * 5000
        (folder / f"wire_{i:04d}.txt").write_text(
            f"Wire report {i}\n\nIn wire report {i}: {sentence} "
            f"The desk logged {calls} calls that day.\n",
            encoding="utf-8",
        )


def rag_env(data_dir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    return {**env, "RAG_DATA_DIR": str(data_dir)}


def stored_state(pipeline) -> tuple[dict, dict]:  # type: ignore[no-untyped-def]
    """Chunk ids per file, and each file record's sha256 and chunk count."""
    chunks = {f: (sha, sorted(ids)) for f, (sha, ids) in pipeline.store.file_chunk_ids().items()}
    got = pipeline.store.files.get(include=["metadatas"])
    records = {f: (m["sha256"], m["chunks"]) for f, m in zip(got["ids"], got["metadatas"])}
    return chunks, records


def kill_ingest_once_records_appear(folder: Path, data_dir: Path) -> dict:
    """Run `rag ingest`, SIGKILL it once its first file records are written; the counts left."""
    (data_dir / "chroma").mkdir(parents=True)
    log = open(data_dir.parent / "killed-ingest.log", "w")
    ingest = subprocess.Popen(
        [sys.executable, "-m", "rag.interfaces.cli", "ingest", str(folder)],
        env=rag_env(data_dir),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    poller = subprocess.Popen(
        [sys.executable, "-c", POLL_COUNTS, str(data_dir / "chroma")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert poller.stdout is not None
        deadline = time.monotonic() + 120
        for line in poller.stdout:
            counts = json.loads(line)
            if counts.get("articles_files", 0) > 0 or time.monotonic() > deadline:
                break
            assert ingest.poll() is None, "the ingest ended before it could be killed"
        ingest.send_signal(signal.SIGKILL)
        ingest.wait(timeout=10)
        time.sleep(0.3)  # the poller's next readings show what the killed run left
        left = json.loads(poller.stdout.readline())
        while "error" in left:
            left = json.loads(poller.stdout.readline())
    finally:
        for process in (ingest, poller):
            if process.poll() is None:
                process.kill()
                process.wait()
        log.close()
    assert ingest.returncode == -signal.SIGKILL
    return left


def test_an_ingest_killed_halfway_is_completed_by_the_next_run_exactly(pipeline, tmp_path):
    folder, data_dir = tmp_path / "wire", tmp_path / "killed"
    write_wire_reports(folder, range(240))
    left = kill_ingest_once_records_appear(folder, data_dir)
    assert 0 < left.get("articles_files", 0) < 240, left  # killed halfway: files without records

    write_wire_reports(folder, range(10), edition=1)  # edited while the index was half-built
    for i in range(10, 15):
        (folder / f"wire_{i:04d}.txt").unlink()
    write_wire_reports(folder, range(240, 245))
    resumed = subprocess.run(
        [sys.executable, "-m", "rag.interfaces.cli", "ingest", "--sync", str(folder)],
        env=rag_env(data_dir),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr

    assert len(pipeline.ingest(folder).added) == 240  # the clean reference
    expected_chunks, expected_records = stored_state(pipeline)
    recovered = build_pipeline(make_settings(data_dir))
    chunks, records = stored_state(recovered)
    assert chunks == expected_chunks  # same ids per file: none missing, none orphaned
    ids = [i for _, file_ids in chunks.values() for i in file_ids]
    assert recovered.store.count() == len(ids) == len(set(ids))  # no duplicates
    assert records == expected_records and len(records) == 240
    edited = "wire_0003.txt"
    assert recovered.document(edited)[0] == (folder / edited).read_text(encoding="utf-8")
    OUTPUT.mkdir(exist_ok=True)
    (OUTPUT / "faults-ingest.txt").write_text(
        f"killed with {left}\nresumed: {resumed.stdout.strip()}\n"
        f"after: {len(ids)} chunks, {len(records)} file records (clean ingest: "
        f"{sum(len(v[1]) for v in expected_chunks.values())}, {len(expected_records)})\n"
    )


EDITED = "003_82cead1f1c9ff3e4.txt"
HARBOUR = "Who is the harbour master of Port Elwin?"
GARRISON = "How many armoured vehicles did the Hama garrison count?"


def write_harbour_reports(folder: Path, numbers: range) -> None:
    for i in numbers:
        (folder / f"port_{i:02d}.txt").write_text(
            f"Port Elwin harbour reopens\n\nThe harbour of Port Elwin reopened on Tuesday after "
            f"{i + 3} weeks of repairs, harbour master Mira Solvek said. Crews replaced "
            f"{i * 10 + 40} metres of the northern pier. Fishing boats returned by evening.\n",
            encoding="utf-8",
        )


def edit_garrison(folder: Path, vehicles: int) -> None:
    """A new paragraph near the top of the sample article: a fact only it has, offsets moved."""
    first, rest = (ARTICLES / EDITED).read_text(encoding="utf-8").split("\n\n", 1)
    fact = f"The Hama garrison counted {vehicles} armoured vehicles on Thursday, a source said."
    (folder / EDITED).write_text(f"{first}\n\n{fact}\n\n{rest}", encoding="utf-8")


def recorded_texts(pipeline) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {doc.file: pipeline.document(doc.file)[0] for doc in pipeline.documents()}


def check_citations(answer, *versions: dict[str, str]) -> int:  # type: ignore[no-untyped-def]
    """Every citation names a recorded file and quotes one of the given versions of its text."""
    count = 0
    for sentence in answer.sentences:
        for c in sentence.citations:
            texts = [v[c.file] for v in versions if c.file in v]
            assert texts, f"{c.file} was cited before its ingest finished: {answer.question}"
            assert any(t[c.start : c.end] == c.quote for t in texts), (c, answer.question)
            count += 1
    return count


class PausedRecords:
    """store.put_file that stops the ingest before chosen record writes until released."""

    def __init__(self, put_file, stops: set[int]):  # type: ignore[no-untyped-def]
        self.put_file = put_file
        self.stops = stops
        self.calls = 0
        self.paused = threading.Event()
        self.resumed = threading.Event()

    def __call__(self, doc, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.calls += 1
        if self.calls in self.stops:
            self.resumed.clear()
            self.paused.set()
            self.resumed.wait(60)
        time.sleep(0.05)  # a slow store: the windows between writes stay open a while
        self.put_file(doc, *args, **kwargs)

    def wait(self) -> bool:
        """Until the ingest stops (True) or 60 s pass (False)."""
        stopped = self.paused.wait(60)
        self.paused.clear()
        return stopped


def test_answers_during_ingests_cite_only_finished_files_and_their_current_text(
    pipeline, articles_copy, monkeypatch
):
    pipeline.ingest(articles_copy)
    # Rounds of 9 and 5 record writes; stop before the first (every new chunk written, the
    # edited file's old chunks deleted, no record updated yet) and in the middle of each.
    records = PausedRecords(pipeline.store.put_file, stops={1, 4, 10, 12})
    monkeypatch.setattr(pipeline.store, "put_file", records)
    writing = threading.Event()
    writing.set()

    def write() -> None:
        try:
            for vehicles, new in [(35, range(0, 8)), (40, range(8, 12))]:
                edit_garrison(articles_copy, vehicles)
                write_harbour_reports(articles_copy, new)
                pipeline.ingest(articles_copy)
        finally:
            writing.clear()

    racing: list[tuple[dict, object, dict]] = []
    errors: list[BaseException] = []

    def ask_while_writing() -> None:
        try:
            for question in itertools.cycle([HARBOUR, GARRISON]):
                if not writing.is_set():
                    return
                before = recorded_texts(pipeline)
                answer = pipeline.ask(question)
                racing.append((before, answer, recorded_texts(pipeline)))
        except BaseException as err:  # noqa: BLE001  (reported below)
            errors.append(err)

    threads = [threading.Thread(target=f) for f in (write, ask_while_writing)]
    for thread in threads:
        thread.start()
    paused_checks = 0
    try:
        for _ in records.stops:
            assert records.wait(), "the ingest did not reach its next record write"
            now = recorded_texts(pipeline)  # stable: the only writer is stopped
            for question, files in [(HARBOUR, None), (GARRISON, [EDITED]), (QUESTION, None)]:
                answer = pipeline.ask(question, Filters(files=files) if files else None)
                paused_checks += check_citations(answer, now)
            records.resumed.set()
    finally:
        records.stops.clear()
        records.resumed.set()
        for thread in threads:
            thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads) and not errors, errors

    # A racing answer may have read the records before or after a write landed during it.
    racing_checks = sum(check_citations(a, before, after) for before, a, after in racing)
    final = pipeline.ask(GARRISON)
    assert "40 armoured" in final.answer and EDITED in {s.file for s in final.sources}
    assert "Solvek" in pipeline.ask(HARBOUR).answer
    OUTPUT.mkdir(exist_ok=True)
    (OUTPUT / "faults-concurrency.txt").write_text(
        f"ingest stopped 4 times mid-write: {paused_checks} citations checked against the "
        f"records; {len(racing)} answers racing 2 ingests: {racing_checks} citations checked\n"
    )


def test_an_llm_that_keeps_trickling_tokens_is_cut_off_with_a_503(sample_pipeline):
    """Each token arrives well within the client's timeout; the answer as a whole must not."""
    scripted = ScriptedServer()
    try:
        settings = sample_pipeline.settings.model_copy(
            update={"llm_base_url": scripted.url, "llm_timeout": 2.0, "llm_max_retries": 0}
        )
        pipeline = build_pipeline(settings, sample_pipeline.store, sample_pipeline.embedder)
        scripted.queue.append({"text": "Geir Pedersen is the envoy [1]. " * 40, "drip": 0.1})
        ask = {"question": QUESTION, "mode": "llm", "stream": True}
        with TestClient(create_app(settings, pipeline)) as client:
            response, seconds = timed(lambda: client.post("/v1/answer", json=ask), 15)
    finally:
        scripted.close()
    error = [line for line in response.text.splitlines() if '"status": 503' in line]
    assert error and "still writing after 2s" in error[0] and '"sources"' in error[0]
    assert seconds < 8, seconds  # 200 words 0.1 s apart would take 20 s
