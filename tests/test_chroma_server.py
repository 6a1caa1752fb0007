"""The same store behaviour against a real `chroma run` server on 127.0.0.1."""

import pytest

from rag.pipeline import build_pipeline
from tests.helpers import make_settings

pytestmark = pytest.mark.slow  # a `chroma run` server


def test_ingest_and_answer_through_a_chroma_server(chroma_server, tmp_path, articles_copy):
    settings = make_settings(tmp_path / "rag", chroma_url=chroma_server, collection="server_test")
    pipeline = build_pipeline(settings)
    assert type(pipeline.store.client).__name__ != "PersistentClient"
    first = pipeline.ingest(articles_copy)
    assert len(first.added) == 5
    assert not (tmp_path / "rag" / "chroma").exists()  # nothing written to the embedded store

    again = pipeline.ingest(articles_copy)
    assert again.chunks_written == 0 and len(again.unchanged) == 5

    answer = pipeline.ask("Who is the UN special envoy for Syria?")
    assert not answer.abstained and "Pedersen" in answer.answer

    (articles_copy / "002_4bae47413ab922b5.txt").unlink()
    synced = pipeline.ingest(articles_copy, sync=True)
    assert synced.removed == ["002_4bae47413ab922b5.txt"]
    reopened = build_pipeline(settings)  # a second client sees the same server state
    assert [d.file for d in reopened.documents()] == [
        "000_43fc5ccdc40033fb.txt",
        "001_d03958c25c20727c.txt",
        "003_82cead1f1c9ff3e4.txt",
        "004_41f9c137d467bf3b.txt",
    ]


def test_host_and_port_settings_reach_the_server(chroma_server, tmp_path):
    host, port = chroma_server.removeprefix("http://").split(":")
    settings = make_settings(
        tmp_path / "rag", chroma_host=host, chroma_port=int(port), collection="host_port_test"
    )
    assert settings.chroma_server == chroma_server
    assert build_pipeline(settings).store.count() == 0
