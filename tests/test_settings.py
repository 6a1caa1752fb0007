"""Settings come from RAG_* variables, then rag.toml in the working directory, then defaults."""

import os
from pathlib import Path

from rag.core.settings import Settings


def test_rag_toml_is_read_and_the_environment_wins(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("RAG_")]:
        monkeypatch.delenv(name)
    (tmp_path / "rag.toml").write_text('top_k = 9\nllm_model = "local-model"\n')
    assert Settings().top_k == 9 and Settings().llm_model == "local-model"
    monkeypatch.setenv("RAG_TOP_K", "4")
    assert Settings().top_k == 4


def test_defaults_are_offline_and_local(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("RAG_")]:
        monkeypatch.delenv(name)
    settings = Settings()
    assert settings.data_dir == Path(".rag") and settings.chroma_server is None
    assert settings.mode == "auto" and settings.embed_provider == "local"
    assert settings.host == "127.0.0.1"
