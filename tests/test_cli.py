"""The `rag` command as a user runs it, in a subprocess."""

import json
import os
import subprocess
import sys
import time

import pytest
from fastapi.testclient import TestClient

from rag.interfaces.api import create_app
from rag.pipeline import build_pipeline
from tests.helpers import ARTICLES, make_settings

pytestmark = pytest.mark.slow  # the CLI in subprocesses

QUESTION = "Who is the UN special envoy for Syria?"


def rag(*args: str, data_dir) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env["RAG_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [sys.executable, "-m", "rag.interfaces.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_ingest_ask_and_json_match_the_api(tmp_path):
    data = tmp_path / "rag"
    first = rag("ingest", str(ARTICLES), data_dir=data)
    assert first.returncode == 0, first.stderr
    assert "5 added, 0 updated, 0 unchanged" in first.stdout

    again = rag("ingest", str(ARTICLES), data_dir=data)
    assert "0 added, 0 updated, 5 unchanged" in again.stdout and "0 chunks written" in again.stdout

    human = rag("ask", QUESTION, data_dir=data)
    assert human.returncode == 0 and "Pedersen" in human.stdout
    assert ".txt:L" in human.stdout and "“" in human.stdout  # markers and quoted passages

    printed = json.loads(rag("ask", QUESTION, "--json", data_dir=data).stdout)
    settings = make_settings(data)
    with TestClient(create_app(settings, build_pipeline(settings))) as client:
        served = client.post("/v1/answer", json={"question": QUESTION}).json()
    printed.pop("timings"), served.pop("timings")
    assert printed == served


def test_errors_are_one_line_without_a_traceback(tmp_path):
    empty = rag("ask", "Who?", data_dir=tmp_path / "rag")
    assert empty.returncode == 2 and "nothing is indexed" in empty.stderr
    assert "Traceback" not in empty.stderr
    missing = rag("ingest", str(tmp_path / "nowhere"), data_dir=tmp_path / "rag")
    assert missing.returncode == 2 and "no such file or folder" in missing.stderr


def test_eval_refuses_bad_paths_before_running(tmp_path, capsys):
    from rag.interfaces.cli import main

    assert main(["eval", "--facts", str(tmp_path / "missing.yaml")]) == 2
    assert "--facts: no file at" in capsys.readouterr().err
    report = tmp_path / "report.json"
    report.write_text("{}")
    assert main(["eval", "--out", str(report)]) == 2
    assert f"--out: {report} is a file" in capsys.readouterr().err
    assert report.read_text() == "{}"


def test_a_bad_setting_is_named_in_one_line(monkeypatch, capsys):
    from rag.interfaces.cli import main

    monkeypatch.setenv("RAG_TOP_K", "many")
    monkeypatch.setenv("RAG_COLLECTION", "x")  # Chroma wants 3 characters or more
    assert main(["ask", "Who?"]) == 2
    printed = capsys.readouterr().err
    assert "RAG_TOP_K='many'" in printed and "RAG_COLLECTION='x'" in printed
    assert "Traceback" not in printed


def test_timeline_and_compare_commands(sample_pipeline, monkeypatch, capsys):
    from rag.interfaces.cli import main

    monkeypatch.setenv("RAG_DATA_DIR", str(sample_pipeline.settings.data_dir))
    assert main(["summarize", "--all", "--timeline", "--length", "5"]) == 0
    lines = capsys.readouterr().out.splitlines()
    dates = [line.split()[0] for line in lines]
    dated = [d for d in dates if d != "undated"]
    assert len(lines) == 5 and dated == sorted(dated)
    assert dates[len(dated) :] == ["undated"] * (len(dates) - len(dated))
    assert main(["compare"]) == 0
    out = capsys.readouterr().out
    assert "## Reported by two or more files" in out and "## Near-duplicate articles" in out


def test_a_running_pipeline_sees_another_process_ingest(tmp_path):
    """A server keeps answering while `rag ingest` adds files beside it; keywords find them."""
    data = tmp_path / "rag"
    assert rag("ingest", str(ARTICLES), data_dir=data).returncode == 0
    serving = build_pipeline(make_settings(data))
    assert not serving.retriever.keyword_search("Zarqonite lighthouse", 5, None)

    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "lighthouse.txt").write_text(
        "The Zarqonite lighthouse reopened on Monday after a decade of repairs, officials said."
    )
    assert rag("ingest", str(extra), data_dir=data).returncode == 0
    time.sleep(1.1)  # the store's version is re-read at most once a second

    found = serving.retriever.keyword_search("Zarqonite lighthouse", 5, None)
    assert [chunk.file for chunk, _ in found] == ["lighthouse.txt"]


def test_asking_loads_only_what_answering_needs(tmp_path):
    data = tmp_path / "rag"
    assert rag("ingest", str(ARTICLES), data_dir=data).returncode == 0
    script = (
        "import sys\n"
        "from rag.interfaces.cli import main\n"
        f"assert main(['ask', {QUESTION!r}]) == 0\n"
        "heavy = ['torch', 'gradio', 'llama_index', 'bm25s', 'sentence_transformers']\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env["RAG_DATA_DIR"] = str(data)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Pedersen" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "[]"
