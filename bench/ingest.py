"""Ingest throughput: citerag against the plain LlamaIndex pipeline, pair by pair, fresh processes.

    .venv/bin/python bench/ingest.py ../shared/bench/squad-v2/dev-v2.0.json [--runs 3]

Each run indexes the same corpus into a new data dir with every system, in a new process (so
each pays its own model load and has its own peak RSS), in alternating order. Corpora: the SQuAD
articles (one file each) and the five sample articles.
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import (
    RESULTS,
    SAMPLE,
    child,
    machine,
    peak_rss_mb,
    plain_index,
    squad_corpus,
    table,
    write_report,
)

SYSTEMS = {
    "citerag": "ours: ONNX int8 embeddings, BM25, metadata, file records",
    "plain": "LlamaIndex tutorial defaults (1,024-token chunks, embedded batch 10)",
    "plain-matched": "LlamaIndex with chunks the size of ours (160 tokens)",
}
MATCHED_CHUNK_TOKENS = 160


def run_child(system: str, corpus: Path, data: Path) -> dict:
    """One ingest in this process; prints a JSON line."""
    began = time.perf_counter()
    if system == "citerag":
        from rag.pipeline import build_pipeline
        from rag.settings import Settings

        pipeline = build_pipeline(Settings(data_dir=data))
        ready = time.perf_counter()
        report = pipeline.ingest(corpus, progress=False)
        pipeline.retriever.lexical()  # BM25 is part of our index: build it inside the timing
        files, chunks = len(report.added), report.chunks_written
    else:
        from llama_index.core import SimpleDirectoryReader

        size = MATCHED_CHUNK_TOKENS if system == "plain-matched" else None
        vector_index, _, context, collection = plain_index(data, size)
        ready = time.perf_counter()
        documents = SimpleDirectoryReader(str(corpus)).load_data()
        vector_index.from_documents(documents, storage_context=context, show_progress=False)
        files, chunks = len(documents), collection.count()
    done = time.perf_counter()
    return {
        "system": system,
        "files": files,
        "chunks": chunks,
        "startup_s": round(ready - began, 2),
        "ingest_s": round(done - ready, 2),
        "files_per_s": round(files / (done - ready), 2),
        "chunks_per_s": round(chunks / (done - ready), 1),
        "chars": sum(p.stat().st_size for p in corpus.iterdir()),
        "peak_rss_mb": round(peak_rss_mb()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("squad", type=Path, nargs="?", help="SQuAD 2.0 dev-v2.0.json")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--articles", type=int, default=0, help="first N SQuAD articles (0: all)")
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_child(args.child, args.corpus, args.data)))
        return
    if not args.squad:
        parser.error("give the path to SQuAD 2.0's dev-v2.0.json")

    systems = args.systems.split(",")
    result: dict = {"machine": machine(), "systems": {s: SYSTEMS[s] for s in systems}, "runs": []}
    with tempfile.TemporaryDirectory() as scratch:
        squad = Path(scratch) / "squad"
        squad_corpus(args.squad, squad, args.articles)
        for corpus_name, corpus in [("squad", squad), ("sample", SAMPLE)]:
            for run in range(args.runs):
                order = systems if run % 2 == 0 else systems[::-1]
                for system in order:
                    data = Path(scratch) / f"{corpus_name}-{system}-{run}"
                    row = child(
                        Path(__file__),
                        *["--child", system, "--corpus", str(corpus), "--data", str(data)],
                    )
                    row.update(corpus=corpus_name, run=run)
                    result["runs"].append(row)
                    print(json.dumps(row), file=sys.stderr)
    result["summary"] = summarise(result["runs"], systems)
    write_report("ingest", args.out, result, render(result, systems))


def summarise(runs: list[dict], systems: list[str]) -> dict:
    """Per corpus and system: medians; per run: our throughput over each plain system's."""
    summary: dict = {}
    for corpus in sorted({r["corpus"] for r in runs}):
        rows = [r for r in runs if r["corpus"] == corpus]
        by_run = {(r["system"], r["run"]): r for r in rows}
        entry: dict = {}
        for system in systems:
            mine = [r for r in rows if r["system"] == system]
            entry[system] = {
                key: statistics.median(r[key] for r in mine)
                for key in ["files", "chunks", "ingest_s", "files_per_s", "chunks_per_s"]
                + ["startup_s", "process_wall_s", "peak_rss_mb"]
            }
            if system != "citerag" and "citerag" in systems:
                ratios = [
                    by_run[(system, run)]["ingest_s"] / by_run[("citerag", run)]["ingest_s"]
                    for (name, run) in by_run
                    if name == "citerag" and (system, run) in by_run
                ]
                entry[system]["citerag_speedup_by_run"] = [round(x, 2) for x in ratios]
                entry[system]["citerag_speedup_median"] = round(statistics.median(ratios), 2)
        summary[corpus] = entry
    return summary


def render(result: dict, systems: list[str]) -> str:
    out = [f"# Ingest benchmark ({result['machine']['date']}, {result['machine']['cpus']} CPUs)\n"]
    for system in systems:
        out.append(f"- **{system}**: {result['systems'][system]}")
    header = ["corpus", "system", "files", "chunks", "ingest s", "files/s", "chunks/s"]
    header += ["startup s", "peak RSS MB", "citerag speed-up (per run)"]
    rows = []
    for corpus, entry in result["summary"].items():
        for system in systems:
            s = entry[system]
            speedup = "—"
            if "citerag_speedup_median" in s:
                each = ", ".join(map(str, s["citerag_speedup_by_run"]))
                speedup = f"{s['citerag_speedup_median']}x ({each})"
            rows.append(
                [corpus, system, s["files"], s["chunks"], s["ingest_s"], s["files_per_s"]]
                + [s["chunks_per_s"], s["startup_s"], s["peak_rss_mb"], speedup]
            )
    out.append(
        "\nMedians over runs; speed-up = plain ingest time / citerag ingest time, same run.\n"
    )
    out.append(table(header, rows))
    return "\n".join(out)


if __name__ == "__main__":
    main()
