"""Ingest throughput: citerag against the plain LlamaIndex pipeline, pair by pair, fresh processes.

    .venv/bin/python bench/ingest.py ../shared/bench/squad-v2/dev-v2.0.json [--runs 3]

Each run indexes the same corpus into a new data dir with every system, in a new process (so
each pays its own model load and has its own peak RSS), in alternating order. Corpora: the SQuAD
articles (one file each); a news-like corpus with repeats made from them (every article, plus
for each a wire copy under another header, an updated version with a paragraph added, or an
early shorter version); and the five sample articles. On SQuAD, each of our configurations
then answers retrieval for 300 seeded questions (article hit@6), outside the timing.
"""

import argparse
import json
import random
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
    seeded_questions,
    squad_corpus,
    table,
    write_report,
)

SYSTEMS = {
    "citerag": "ours (defaults): ONNX fp32 embeddings (batches of 8), each distinct text "
    "embedded once, BM25 segments, metadata, file records",
    "citerag-int8": "ours with RAG_EMBED_PRECISION=int8 (each text embedded alone)",
    "plain": "LlamaIndex tutorial defaults (1,024-token chunks, embedded batch 10)",
    "plain-matched": "LlamaIndex with chunks the size of ours (160 tokens)",
}
MATCHED_CHUNK_TOKENS = 160


HIT_QUESTIONS = 300
TOP_K = 6


def run_child(system: str, corpus: Path, data: Path, questions: Path | None) -> dict:
    """One ingest in this process; prints a JSON line."""
    began = time.perf_counter()
    extra: dict = {}
    if system.startswith("citerag"):
        from rag.core.settings import Settings
        from rag.pipeline import build_pipeline

        precision = "int8" if system.endswith("int8") else "auto"
        pipeline = build_pipeline(Settings(data_dir=data, embed_precision=precision))
        model_seconds = _time_the_model(pipeline.embedder)
        ready = time.perf_counter()
        report = pipeline.ingest(corpus, progress=False)
        pipeline.retriever.lexical()  # BM25 is part of our index: build it inside the timing
        files, chunks = len(report.added), report.chunks_written
        done = time.perf_counter()
        extra = {
            "embedded": report.chunks_embedded,
            "model_share": round(model_seconds[0] / (done - ready), 3),
        }
        if questions:
            extra["hit_at_6"] = _article_hits(pipeline, json.loads(questions.read_text()))
    else:
        from llama_index.core import SimpleDirectoryReader

        size = MATCHED_CHUNK_TOKENS if system == "plain-matched" else None
        vector_index, _, context, collection = plain_index(data, size)
        ready = time.perf_counter()
        documents = SimpleDirectoryReader(str(corpus)).load_data()
        vector_index.from_documents(documents, storage_context=context, show_progress=False)
        files, chunks = len(documents), collection.count()
        done = time.perf_counter()
    chars = sum(len(p.read_text(encoding="utf-8")) for p in corpus.iterdir())
    return {
        "system": system,
        "files": files,
        "chunks": chunks,
        "startup_s": round(ready - began, 2),
        "ingest_s": round(done - ready, 2),
        "files_per_s": round(files / (done - ready), 2),
        "chunks_per_s": round(chunks / (done - ready), 1),
        "chars": chars,
        "chars_per_s": round(chars / (done - ready)),
        "peak_rss_mb": round(peak_rss_mb()),
        **extra,
    }


def _time_the_model(embedder) -> list[float]:  # type: ignore[no-untyped-def]
    """Seconds spent inside the embedding model, accumulated as the ingest runs."""
    spent = [0.0]
    embed = embedder.embed

    def timed(texts):  # type: ignore[no-untyped-def]
        began = time.perf_counter()
        try:
            return embed(texts)
        finally:
            spent[0] += time.perf_counter() - began

    embedder.embed = timed
    return spent


def _article_hits(pipeline, questions: list[dict]) -> float:  # type: ignore[no-untyped-def]
    hits = [
        any(h.chunk.file == q["file"] for h in pipeline.retriever.retrieve(q["question"], TOP_K))
        for q in questions
    ]
    return round(sum(hits) / len(hits), 3)


def news_corpus(squad: Path, folder: Path, seed: int = 7) -> None:
    """SQuAD's articles as a news feed repeats itself: each article, and one more version of it
    (a wire copy under another header, an update with a paragraph added, or an early shorter
    version), chosen with a fixed seed."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    articles = sorted(squad.iterdir())
    paragraphs = [p.read_text(encoding="utf-8").split("\n\n") for p in articles]
    for n, (path, parts) in enumerate(zip(articles, paragraphs)):
        (folder / path.name).write_text("\n\n".join(parts), encoding="utf-8")
        kind = n % 3
        if kind == 0:
            version = [f"Wire service {rng.randint(1, 9)} reports:", *parts]
        elif kind == 1:
            donor = paragraphs[rng.randrange(len(paragraphs))]
            at = rng.randint(1, max(1, len(parts) - 1))
            version = [*parts[:at], rng.choice(donor), *parts[at:]]
        else:
            version = parts[: max(1, len(parts) * 3 // 5)]
        (folder / f"{path.stem}.v2.txt").write_text("\n\n".join(version), encoding="utf-8")


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
    parser.add_argument("--questions", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_child(args.child, args.corpus, args.data, args.questions)))
        return
    if not args.squad:
        parser.error("give the path to SQuAD 2.0's dev-v2.0.json")

    systems = args.systems.split(",")
    result: dict = {"machine": machine(), "systems": {s: SYSTEMS[s] for s in systems}, "runs": []}
    with tempfile.TemporaryDirectory() as scratch:
        squad = Path(scratch) / "squad"
        chosen = seeded_questions(squad_corpus(args.squad, squad, args.articles), HIT_QUESTIONS)
        questions = Path(scratch) / "questions.json"
        questions.write_text(json.dumps([{"question": q.question, "file": q.file} for q in chosen]))
        news = Path(scratch) / "news"
        news_corpus(squad, news)
        for corpus_name, corpus in [("squad", squad), ("news", news), ("sample", SAMPLE)]:
            for run in range(args.runs):
                order = systems if run % 2 == 0 else systems[::-1]
                for system in order:
                    data = Path(scratch) / f"{corpus_name}-{system}-{run}"
                    asks = ["--questions", str(questions)] if corpus_name == "squad" else []
                    row = child(
                        Path(__file__),
                        *["--child", system, "--corpus", str(corpus), "--data", str(data)],
                        *(asks if system.startswith("citerag") else []),
                    )
                    row.update(corpus=corpus_name, run=run)
                    result["runs"].append(row)
                    print(json.dumps(row), file=sys.stderr)
    result["summary"] = summarise(result["runs"], systems)
    write_report("ingest", args.out, result, render(result, systems))


def summarise(runs: list[dict], systems: list[str]) -> dict:
    """Per corpus and system: medians; per run: each plain system's time over each of ours."""
    summary: dict = {}
    ours = [s for s in systems if s.startswith("citerag")]
    for corpus in sorted({r["corpus"] for r in runs}):
        rows = [r for r in runs if r["corpus"] == corpus]
        by_run = {(r["system"], r["run"]): r for r in rows}
        entry: dict = {}
        for system in systems:
            mine = [r for r in rows if r["system"] == system]
            entry[system] = {
                key: statistics.median(r[key] for r in mine)
                for key in ["files", "chunks", "ingest_s", "files_per_s", "chunks_per_s"]
                + ["chars_per_s", "startup_s", "process_wall_s", "peak_rss_mb"]
                + ["embedded", "model_share", "hit_at_6"]
                if all(key in r for r in mine)
            }
            if system in ours:
                continue
            entry[system]["speedup"] = {}
            for us in ours:
                ratios = [
                    by_run[(system, run)]["ingest_s"] / by_run[(us, run)]["ingest_s"]
                    for (name, run) in by_run
                    if name == us and (system, run) in by_run
                ]
                entry[system]["speedup"][us] = {
                    "by_run": [round(x, 2) for x in ratios],
                    "median": round(statistics.median(ratios), 2),
                }
        summary[corpus] = entry
    return summary


def render(result: dict, systems: list[str]) -> str:
    out = [f"# Ingest benchmark ({result['machine']['date']}, {result['machine']['cpus']} CPUs)\n"]
    for system in systems:
        out.append(f"- **{system}**: {result['systems'][system]}")
    ours = [s for s in systems if s.startswith("citerag")]
    header = ["corpus", "system", "files", "chunks", "embedded", "ingest s", "chunks/s"]
    header += ["chars/s", "model share", "hit@6", "startup s", "peak RSS MB"]
    header += [f"{us} speed-up (per run)" for us in ours]
    rows = []
    for corpus, entry in result["summary"].items():
        for system in systems:
            s = entry[system]
            speedups = [
                f"{s['speedup'][us]['median']}x ({', '.join(map(str, s['speedup'][us]['by_run']))})"
                if "speedup" in s
                else "—"
                for us in ours
            ]
            rows.append(
                [corpus, system, s["files"], s["chunks"], s.get("embedded", "—"), s["ingest_s"]]
                + [s["chunks_per_s"], s["chars_per_s"], s.get("model_share", "—")]
                + [s.get("hit_at_6", "—"), s["startup_s"], s["peak_rss_mb"], *speedups]
            )
    out.append(
        "\nMedians over runs; speed-up = that plain system's ingest time / ours, same run. "
        "embedded: chunks whose text went through the model (the rest reused a stored vector); "
        "model share: the part of our ingest time spent in the embedding model; hit@6: the "
        f"gold article among the top {TOP_K} for {HIT_QUESTIONS} seeded SQuAD questions.\n"
    )
    out.append(table(header, rows))
    return "\n".join(out)


if __name__ == "__main__":
    main()
