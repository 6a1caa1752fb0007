"""Query latency and quality: citerag against the plain LlamaIndex retriever, at growing scale.

    .venv/bin/python bench/query.py ../shared/bench/squad-v2/dev-v2.0.json [--scales 1,4,10]

Both systems index SQuAD's articles (plain LlamaIndex with chunks the size of ours, so both hold
about as many chunks). Each scale replicates every chunk, with its vector, under new file names,
so retrieval searches N copies of the corpus. At each scale a fresh process per system warms up,
then times retrieval (top 6) and our extractive answer over the same questions; cold start is the
wall time of a new process that loads the index and prints one answer.
"""

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

from _common import (
    PLAIN_COLLECTION,
    RESULTS,
    ROOT,
    add_step_arguments,
    child,
    machine,
    peak_rss_mb,
    percentiles,
    plain_index,
    seeded_questions,
    squad_corpus,
    table,
    write_report,
)

TOP_K = 6
PLAIN_CHUNK_TOKENS = 160


def settings_for(data: Path):  # type: ignore[no-untyped-def]
    from rag.core.settings import Settings

    return Settings(data_dir=data, collection="squad")


def build(system: str, corpus: Path, data: Path) -> dict:
    if system == "citerag":
        from rag.pipeline import build_pipeline

        report = build_pipeline(settings_for(data)).ingest(corpus, progress=False)
        return {"chunks": report.chunks_written}
    from llama_index.core import SimpleDirectoryReader

    vector_index, _, context, collection = plain_index(data, PLAIN_CHUNK_TOKENS)
    documents = SimpleDirectoryReader(str(corpus)).load_data()
    vector_index.from_documents(documents, storage_context=context)
    return {"chunks": collection.count()}


def replicate(system: str, data: Path, copies: int) -> dict:
    """Grow the index to `copies` copies of the corpus (same vectors, new ids and file names)."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from llama_index.core.vector_stores.utils import metadata_dict_to_node
    from llama_index.vector_stores.chroma import ChromaVectorStore

    client = chromadb.PersistentClient(
        path=str(data / "chroma"), settings=ChromaSettings(anonymized_telemetry=False)
    )
    name = "squad" if system == "citerag" else PLAIN_COLLECTION
    collection = client.get_collection(name)
    everything = _get_all(collection)
    keep = [i for i, cid in enumerate(everything["ids"]) if not cid.startswith("x")]
    original = {key: [everything[key][i] for i in keep] for key in _FIELDS}
    have = collection.count() // max(1, len(keep))
    store = ChromaVectorStore(chroma_collection=collection)
    for copy in range(have, copies):
        nodes = []
        for cid, vector, meta, text in zip(
            original["ids"], original["embeddings"], original["metadatas"], original["documents"]
        ):
            node = metadata_dict_to_node(meta, text=text)
            node.id_ = f"x{copy}-{cid}"
            node.embedding = list(map(float, vector))
            if "file" in node.metadata:
                node.metadata["file"] = f"x{copy}_{node.metadata['file']}"
            for link in ("prev_id", "next_id"):  # a copy's neighbours are the copy's
                if node.metadata.get(link):
                    node.metadata[link] = f"x{copy}-{node.metadata[link]}"
            nodes.append(node)
        for i in range(0, len(nodes), 2000):
            store.add(nodes[i : i + 2000])
    if system == "citerag":
        _replicate_file_records(client, copies)
        from rag.index.embedding import build_embedder
        from rag.index.store import ChunkStore

        settings = settings_for(data)
        ChunkStore(settings, build_embedder(settings).name).bump_version()
    return {"chunks": collection.count()}


_FIELDS = ["ids", "embeddings", "metadatas", "documents"]


def _get_all(collection, page: int = 5000) -> dict:  # type: ignore[no-untyped-def]
    """Every record, in pages (one get of 100k+ records overflows SQLite's variable limit)."""
    got: dict = {key: [] for key in _FIELDS}
    for offset in range(0, collection.count(), page):
        part = collection.get(
            include=["embeddings", "metadatas", "documents"], limit=page, offset=offset
        )
        for key in _FIELDS:
            got[key] += list(part[key])
    return got


def _replicate_file_records(client, copies: int) -> None:  # type: ignore[no-untyped-def]
    files = client.get_collection("squad_files")
    got = _get_all(files)
    originals = [i for i, fid in enumerate(got["ids"]) if not fid.startswith("x")]
    for copy in range(1, copies):
        files.upsert(
            ids=[f"x{copy}_{got['ids'][i]}" for i in originals],
            embeddings=[got["embeddings"][i] for i in originals],
            metadatas=[got["metadatas"][i] for i in originals],
            documents=[got["documents"][i] for i in originals],
        )


def measure(system: str, data: Path, questions: list[dict], warmup: int = 10) -> dict:
    """Warm latencies in this (fresh) process."""
    if system == "citerag":
        from rag.pipeline import build_pipeline

        pipeline = build_pipeline(settings_for(data))

        def retrieve(q: str) -> list[tuple[str, int, int]]:
            hits = pipeline.retriever.retrieve(q, TOP_K)
            return [(h.chunk.file, h.chunk.start, h.chunk.end) for h in hits]

        def answer(q: str) -> None:
            pipeline.ask(q)

    else:
        vector_index, store, _, _ = plain_index(data)
        index = vector_index.from_vector_store(store)
        retriever = index.as_retriever(similarity_top_k=TOP_K)
        engine = index.as_query_engine(similarity_top_k=TOP_K, response_mode="no_text")

        def retrieve(q: str) -> list[tuple[str, int, int]]:
            return [(_plain_file(n), -1, -1) for n in retriever.retrieve(q)]

        def answer(q: str) -> None:
            engine.query(q)

    for q in questions[:warmup]:
        retrieve(q["question"])
        answer(q["question"])
    retrieval, answers, article_hits = [], [], []
    for q in questions:
        began = time.perf_counter()
        found = retrieve(q["question"])
        retrieval.append((time.perf_counter() - began) * 1000)
        began = time.perf_counter()
        answer(q["question"])
        answers.append((time.perf_counter() - began) * 1000)
        article_hits.append(any(_original(f) == q["file"] for f, _, _ in found))
    return {
        "retrieval": percentiles(retrieval),
        "answer": percentiles(answers),
        "article_hit_at_6": round(sum(article_hits) / len(article_hits), 3),
        "peak_rss_mb": round(peak_rss_mb()),
    }


def _original(file: str) -> str:
    return re.sub(r"^x\d+_", "", file)


def _plain_file(node) -> str:  # type: ignore[no-untyped-def]
    return Path(node.node.metadata.get("file_name") or node.node.metadata.get("file", "")).name


def cold(system: str, data: Path, question: str) -> dict:
    """First answer in this process: from interpreter start (parent measures the wall)."""
    if system == "citerag":
        from rag.pipeline import build_pipeline

        answer = build_pipeline(settings_for(data)).ask(question)
        return {"answer": answer.answer[:80]}
    vector_index, store, _, _ = plain_index(data)
    engine = vector_index.from_vector_store(store).as_query_engine(
        similarity_top_k=TOP_K, response_mode="no_text"
    )
    return {"sources": len(engine.query(question).source_nodes)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("squad", type=Path, nargs="?", help="SQuAD 2.0 dev-v2.0.json")
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument("--scales", default="1,4,10", help="copies of the corpus to measure")
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--system", help=argparse.SUPPRESS)
    add_step_arguments(parser)
    args = parser.parse_args()
    if args.step:
        print(json.dumps(run_step(args)))
        return
    if not args.squad:
        parser.error("give the path to SQuAD 2.0's dev-v2.0.json")

    result: dict = {"machine": machine(), "top_k": TOP_K, "scales": []}
    script = Path(__file__)
    with tempfile.TemporaryDirectory() as scratch:
        corpus = Path(scratch) / "squad"
        chosen = seeded_questions(squad_corpus(args.squad, corpus), args.questions, args.seed)
        qfile = Path(scratch) / "questions.json"
        qfile.write_text(json.dumps([{"question": q.question, "file": q.file} for q in chosen]))
        data = {s: Path(scratch) / s for s in ["citerag", "plain"]}
        for system in data:
            built = child(
                script,
                "--step",
                "build",
                "--system",
                system,
                "--data",
                str(data[system]),
                "--arg",
                str(corpus),
            )
            print(f"built {system}: {built}", file=sys.stderr)
        for copies in map(int, args.scales.split(",")):
            row: dict = {"copies": copies}
            for system in data:
                grown = child(
                    script,
                    "--step",
                    "replicate",
                    "--system",
                    system,
                    "--data",
                    str(data[system]),
                    "--arg",
                    str(copies),
                )
                warm = child(
                    script,
                    "--step",
                    "measure",
                    "--system",
                    system,
                    "--data",
                    str(data[system]),
                    "--arg",
                    str(qfile),
                )
                colds = [
                    child(
                        script,
                        "--step",
                        "cold",
                        "--system",
                        system,
                        "--data",
                        str(data[system]),
                        "--arg",
                        chosen[i].question,
                    )["process_wall_s"]
                    for i in range(args.cold_runs)
                ]
                row[system] = {**warm, "chunks": grown["chunks"], "cold_start_s": colds}
                print(json.dumps({system: row[system], "copies": copies}), file=sys.stderr)
            result["scales"].append(row)
    write_report("query", args.out, result, render(result))
    plot(result, args.out / "query-latency.png")


def run_step(args: argparse.Namespace) -> dict:
    if args.step == "build":
        return build(args.system, Path(args.arg), args.data)
    if args.step == "replicate":
        return replicate(args.system, args.data, int(args.arg))
    if args.step == "measure":
        return measure(args.system, args.data, json.loads(Path(args.arg).read_text()))
    return cold(args.system, args.data, args.arg)


def render(result: dict) -> str:
    header = ["copies", "chunks", "system", "retrieval p50/p95/p99 ms", "answer p50/p95/p99 ms"]
    header += ["article hit@6", "cold start s", "peak RSS MB", "retrieval p50 ratio"]
    rows = []
    for row in result["scales"]:
        ours, plain = row["citerag"], row["plain"]
        for name, r in [("citerag", ours), ("plain", plain)]:
            ratio = round(r["retrieval"]["p50_ms"] / ours["retrieval"]["p50_ms"], 2)
            rows.append(
                [row["copies"], r["chunks"], name, _triple(r["retrieval"]), _triple(r["answer"])]
                + [r["article_hit_at_6"], min(r["cold_start_s"]), r["peak_rss_mb"]]
                + [f"{ratio}x" if name == "plain" else "—"]
            )
    return (
        f"# Query benchmark ({result['machine']['date']}, {result['machine']['cpus']} CPUs)\n\n"
        "citerag: hybrid retrieval (Chroma dense + BM25, RRF); answer: extractive, verified."
        "\nplain: LlamaIndex VectorStoreIndex retriever on Chroma (160-token chunks, same model);"
        " its 'answer' is the query engine with response_mode=no_text (no LLM).\n"
        "Ratio = plain p50 / citerag p50 (above 1: citerag faster). Cold start: best of runs, wall"
        " time of a new process to its first answer.\n\n" + table(header, rows)
    )


def _triple(p: dict) -> str:
    return f"{p['p50_ms']:.1f} / {p['p95_ms']:.1f} / {p['p99_ms']:.1f}"


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 4))
    for system, style in [("citerag", "-o"), ("plain", "--s")]:
        chunks = [row[system]["chunks"] for row in result["scales"]]
        for key in ["p50_ms", "p95_ms"]:
            values = [row[system]["retrieval"][key] for row in result["scales"]]
            axis.plot(chunks, values, style, label=f"{system} retrieval {key[:3]}")
    chunks = [row["citerag"]["chunks"] for row in result["scales"]]
    answers = [row["citerag"]["answer"]["p50_ms"] for row in result["scales"]]
    axis.plot(chunks, answers, ":^", label="citerag answer p50")
    axis.set_xlabel("chunks in the index")
    axis.set_ylabel("latency (ms)")
    axis.set_title("Latency against corpus size")
    axis.legend(fontsize=8)
    axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    print(f"plot: {path}")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
