"""citerag as the index grows: memory, latency, keyword index and cold start, up to 100k+ chunks.

    .venv/bin/python bench/scale.py ../shared/bench/squad-v2/dev-v2.0.json --scales 1,10,46

SQuAD's articles are indexed once, then replicated: every chunk, with its vector, copied under
new ids and file names (bench/query.py's `replicate`), so scale N searches N copies of the
corpus. Replication keeps the vocabulary of one copy (the keyword index's postings grow, its
term list does not) and puts N equally good answers in every top-k, so article hit@6 stays
meaningful only as "an original or a copy of the gold article". At each scale, in fresh
processes:
- keyword index: a full build from the store (what a first question after an upgrade costs),
  and an update adding one new file (what an upload costs);
- cold start: wall time of a new process to its first answer (the saved index mapped);
- warm retrieval and answer latency over seeded questions, and that process's peak RSS.
"""

import argparse
import json
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

from _common import (
    RESULTS,
    add_step_arguments,
    child,
    machine,
    peak_rss_mb,
    percentiles,
    seeded_questions,
    squad_corpus,
    table,
    write_report,
)

QUESTIONS = 150
TOP_K = 6
_STEP = "--step"


def settings_for(data: Path):  # type: ignore[no-untyped-def]
    from rag.core.settings import Settings

    return Settings(data_dir=data, collection="squad")


def keyword_costs(data: Path) -> dict:
    """Seconds to build the keyword index from the store, and to add one new file to it."""
    from rag.index.keywords import KeywordKeeper, keyword_folder
    from rag.pipeline import build_pipeline

    pipeline = build_pipeline(settings_for(data))
    folder = keyword_folder(settings_for(data))
    shutil.rmtree(folder, ignore_errors=True)
    keeper = KeywordKeeper(pipeline.store, folder)
    began = time.perf_counter()
    index = keeper.current()
    build = time.perf_counter() - began
    stamp = uuid.uuid4().hex[:8]  # a new file at every scale: never one the index has
    upload = Path(tempfile.mkdtemp()) / f"bulletin-{stamp}.txt"
    upload.write_text(
        f"The Quillbrook harbour bulletin {stamp}: the ferry to Marrow Island resumed on "
        "Tuesday after storm repairs, the port authority said. Two new berths opened."
    )
    pipeline.ingest(upload.parent, progress=False)
    began = time.perf_counter()
    after = keeper.current()  # the index before the upload, brought up to date
    add = time.perf_counter() - began
    found = after.search(f"Quillbrook bulletin {stamp}", 3, None)
    pipeline.delete(upload.name)  # out of the corpus before it is replicated again
    return {
        "chunks": index.chunk_count,
        "keyword_build_s": round(build, 2),
        "keyword_add_file_s": round(add, 3),
        "upload_found": bool(found),
        "segments": len(after.segments),
    }


def warm(data: Path, questions: list[dict]) -> dict:
    from rag.pipeline import build_pipeline

    pipeline = build_pipeline(settings_for(data))
    for q in questions[:5]:
        pipeline.ask(q["question"])
    retrieval, answers, hits = [], [], []
    for q in questions:
        began = time.perf_counter()
        found = pipeline.retriever.retrieve(q["question"], TOP_K)
        retrieval.append((time.perf_counter() - began) * 1000)
        began = time.perf_counter()
        pipeline.ask(q["question"])
        answers.append((time.perf_counter() - began) * 1000)
        hits.append(any(_original(h.chunk.file) == q["file"] for h in found))
    return {
        "retrieval": percentiles(retrieval),
        "answer": percentiles(answers),
        "article_hit_at_6": round(sum(hits) / len(hits), 3),
        "peak_rss_mb": round(peak_rss_mb()),
    }


def cold(data: Path, question: str) -> dict:
    from rag.pipeline import build_pipeline

    return {"answer": build_pipeline(settings_for(data)).ask(question).answer[:60]}


def _original(file: str) -> str:
    import re

    return re.sub(r"^x\d+_", "", file)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("squad", type=Path, nargs="?", help="SQuAD 2.0 dev-v2.0.json")
    parser.add_argument("--scales", default="1,10,46", help="copies of the corpus")
    parser.add_argument("--questions", type=int, default=QUESTIONS)
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    add_step_arguments(parser)
    args = parser.parse_args()
    if args.step:
        print(json.dumps(run_step(args)))
        return
    if not args.squad:
        parser.error("give the path to SQuAD 2.0's dev-v2.0.json")
    query = Path(__file__).with_name("query.py")
    script = Path(__file__)
    result: dict = {"machine": machine(), "scales": []}
    with tempfile.TemporaryDirectory() as scratch:
        corpus, data = Path(scratch) / "squad", Path(scratch) / "index"
        chosen = seeded_questions(squad_corpus(args.squad, corpus), args.questions)
        qfile = Path(scratch) / "questions.json"
        qfile.write_text(json.dumps([{"question": q.question, "file": q.file} for q in chosen]))
        step = ["--system", "citerag", "--data", str(data)]
        child(query, _STEP, "build", *step, "--arg", str(corpus))
        for copies in map(int, args.scales.split(",")):
            began = time.perf_counter()
            child(query, _STEP, "replicate", *step, "--arg", str(copies), timeout=7200)
            row = {"copies": copies, "replicate_s": round(time.perf_counter() - began, 1)}
            row.update(child(script, _STEP, "keywords", "--data", str(data)))
            row["warm"] = child(script, _STEP, "warm", "--data", str(data), "--arg", str(qfile))
            row["cold_start_s"] = [
                child(script, _STEP, "cold", "--data", str(data), "--arg", chosen[i].question)[
                    "process_wall_s"
                ]
                for i in range(args.cold_runs)
            ]
            result["scales"].append(row)
            print(json.dumps(row), file=sys.stderr)
    write_report("scale", args.out, result, render(result))
    plot(result, args.out / "scale.png")


def run_step(args: argparse.Namespace) -> dict:
    if args.step == "keywords":
        return keyword_costs(args.data)
    if args.step == "warm":
        return warm(args.data, json.loads(Path(args.arg).read_text()))
    return cold(args.data, args.arg)


def render(result: dict) -> str:
    header = ["copies", "chunks", "keyword build s", "keyword add-a-file s", "segments"]
    header += ["cold start s (best)", "retrieval p50/p95 ms", "answer p50/p95 ms"]
    header += ["hit@6", "peak RSS MB"]
    rows = []
    for row in result["scales"]:
        w = row["warm"]
        rows.append(
            [row["copies"], row["chunks"], row["keyword_build_s"], row["keyword_add_file_s"]]
            + [row["segments"], min(row["cold_start_s"])]
            + [f"{w['retrieval']['p50_ms']} / {w['retrieval']['p95_ms']}"]
            + [f"{w['answer']['p50_ms']} / {w['answer']['p95_ms']}"]
            + [w["article_hit_at_6"], w["peak_rss_mb"]]
        )
    return (
        f"# Scale benchmark ({result['machine']['date']}, {result['machine']['cpus']} CPUs)\n\n"
        "SQuAD's 35 articles replicated N times (same vectors, new ids and file names); "
        "fresh processes per measure. hit@6: an original or a copy of the gold article in the "
        "top 6.\n\n" + table(header, rows)
    )


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["scales"]
    chunks = [r["chunks"] for r in rows]
    series = {
        "cold start s": [min(r["cold_start_s"]) for r in rows],
        "keyword build s": [r["keyword_build_s"] for r in rows],
        "retrieval p50 ms": [r["warm"]["retrieval"]["p50_ms"] for r in rows],
        "answer p50 ms": [r["warm"]["answer"]["p50_ms"] for r in rows],
        "peak RSS MB": [r["warm"]["peak_rss_mb"] for r in rows],
        "keyword add-a-file ms": [1000 * r["keyword_add_file_s"] for r in rows],
    }
    figure, axes = plt.subplots(2, 3, figsize=(12, 6))
    for axis, (name, values) in zip(axes.flat, series.items()):
        axis.plot(chunks, values, marker="o")
        axis.set_title(name)
        axis.set_xlabel("chunks")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
