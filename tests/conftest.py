"""Shared fixtures: settings in a temp dir, the real model, real Chroma, servers on 127.0.0.1."""

import os
import shutil
import sys
from pathlib import Path

import pytest

import rag  # noqa: F401  (offline environment first)
from rag.core.settings import Settings
from rag.pipeline import Pipeline, build_pipeline
from tests.helpers import (
    ARTICLES,
    free_port,
    make_settings,
    running_server,
)


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
