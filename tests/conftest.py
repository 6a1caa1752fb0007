"""Shared fixtures: settings in a temp dir, the real model, real Chroma, servers on 127.0.0.1."""

import os
import shutil
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

import rag  # noqa: F401  (offline environment first)
from rag.core.settings import Settings
from rag.pipeline import Pipeline, build_pipeline

ROOT = Path(__file__).resolve().parent.parent
ARTICLES = ROOT / "data" / "articles"
OUTPUT = ROOT / "test-output"


def make_settings(data_dir: Path, **overrides) -> Settings:
    """Settings that ignore the user's environment and rag.toml."""
    for key in [k for k in os.environ if k.startswith("RAG_")]:
        os.environ.pop(key)
    return Settings(data_dir=data_dir, **overrides)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "rag")


@pytest.fixture
def pipeline(settings: Settings) -> Pipeline:
    """A fresh, empty pipeline on an embedded store (the model is loaded once per process)."""
    return build_pipeline(settings)


@pytest.fixture(scope="session")
def sample_pipeline(tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    """The five sample articles indexed once for the whole session."""
    settings = make_settings(tmp_path_factory.mktemp("sample") / "rag")
    built = build_pipeline(settings)
    report = built.ingest(ARTICLES)
    assert len(report.added) == 5, report.summary()
    return built


@pytest.fixture
def articles_copy(tmp_path: Path) -> Path:
    """A writable copy of the sample articles."""
    folder = tmp_path / "articles"
    shutil.copytree(ARTICLES, folder)
    return folder


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


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory):
    """A real `chroma run` server on 127.0.0.1, stopped after the session."""
    port = free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    chroma = Path(sys.executable).parent / "chroma"
    command = [
        str(chroma),
        "run",
        "--path",
        str(path / "db"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    url = f"http://127.0.0.1:{port}"
    with running_server(command, f"{url}/api/v2/heartbeat", path / "server.log", 60, env):
        yield url


@pytest.fixture
def scripted():
    """An OpenAI-compatible server on 127.0.0.1 that replies as the test scripts it."""
    from tests.llm_servers import ScriptedServer  # it imports helpers from here

    server = ScriptedServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def scripted_llm():
    """The same, shared by the tests of one module."""
    from tests.llm_servers import ScriptedServer

    server = ScriptedServer()
    yield server
    server.close()
