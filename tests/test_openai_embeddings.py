"""OpenAI embeddings by configuration, against an OpenAI-compatible /v1/embeddings on 127.0.0.1."""

import numpy as np
import pytest

from rag.index.embedding import build_embedder
from rag.pipeline import build_pipeline
from tests.helpers import make_settings
from tests.llm_servers import ScriptedServer

pytestmark = pytest.mark.slow  # an OpenAI-compatible server


@pytest.fixture
def server():
    scripted = ScriptedServer()
    yield scripted
    scripted.close()


def test_openai_embedder_batches_and_normalises(server, tmp_path):
    settings = make_settings(
        tmp_path,
        embed_provider="openai",
        llm_base_url=server.url,
        llm_api_key="k",
        embed_model="text-embedding-3-small",
    )
    embedder = build_embedder(settings)
    vectors = embedder.embed([f"text number {i}" for i in range(300)])
    assert vectors.shape == (300, 26)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    sizes = [len(r["input"]) for r in server.requests]
    assert sizes == [256, 44] and server.requests[0]["model"] == "text-embedding-3-small"


def test_a_pipeline_on_openai_embeddings_ingests_and_retrieves(server, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("Zebras zigzag across the zoo.\n")
    (folder / "b.txt").write_text("Apples and bananas are on the table.\n")
    settings = make_settings(
        tmp_path / "rag", embed_provider="openai", llm_base_url=server.url, llm_api_key="k"
    )
    pipeline = build_pipeline(settings)
    assert len(pipeline.ingest(folder).added) == 2
    hits = pipeline.retriever.retrieve("zebras zigzag", 1)
    assert hits[0].chunk.file == "a.txt"


def test_switching_embedders_on_an_index_is_a_clear_error(server, tmp_path):
    from rag.core.errors import BadInput

    build_pipeline(make_settings(tmp_path / "rag"))
    with pytest.raises(BadInput, match="built with embeddings from all-MiniLM-L6-v2"):
        build_pipeline(
            make_settings(
                tmp_path / "rag", embed_provider="openai", llm_base_url=server.url, llm_api_key="k"
            )
        )
