"""The answer reader on SQuAD 2.0's held-out articles: before/after, the abstention curve, cost.

    .venv/bin/python bench/reader.py ../shared/bench/squad-v2/dev-v2.0.json [--split test]

The index holds all 35 dev articles; only the questions of the reader's held-out articles
(reader.json's `test` split, never used to train or tune) are asked. Two runs in one process:
the evidence ranking without the reader (the plain alternative: quote the best-ranked sentence,
abstain below RAG_ABSTAIN_THRESHOLD), and the reader answering everything (threshold 0), from
which the curve and the figures at the shipped threshold are read. Writes
bench/results/reader.{json,md} and reader-curve.png.
"""

import argparse
import statistics
import sys
from pathlib import Path

from _common import RESULTS, machine, write_report

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--split", default="test", choices=["test", "tune"])
    parser.add_argument("--sample", type=int, default=0, help="questions (0 = all of the split)")
    args = parser.parse_args()

    from rag.answer.reader import load_reader
    from rag.core.settings import Settings
    from rag.eval.squad import curve, operating_point, run_squad, split_titles

    articles = split_titles(args.split)
    base = Settings()
    shipped = load_reader().threshold
    every_window = {"reader_threshold": 0.0, "reader_first_windows": base.reader_windows}
    served = f"reader as served (threshold {shipped:g}, {base.reader_first_windows} windows first)"
    runs = {
        "evidence ranking (no reader)": base.model_copy(update={"reader": "off"}),
        served: base,
        "reader, threshold 0, every window (curve)": base.model_copy(update=every_window),
    }
    report: dict = {"split": args.split, "articles": sorted(articles or []), "runs": {}}
    for label, settings in runs.items():
        outcome = run_squad(args.dataset, settings, args.sample, 0, 6, articles=articles)
        generate = [r["generate_ms"] for r in outcome["results"] if r["generate_ms"] is not None]
        outcome["summary"]["generate_p50_ms"] = (
            round(statistics.median(generate), 1) if generate else None
        )
        report["runs"][label] = outcome["summary"]
        report.setdefault("ids", [r["id"] for r in outcome["results"]])
        if "curve" in label:
            report["curve"] = curve(outcome["results"])
            report["operating_point_0.90"] = operating_point(report["curve"])
            point = next(r for r in report["curve"] if r["threshold"] >= shipped - 1e-9)
            report["at_shipped_threshold"] = point
            report["runs"][f"reader, threshold {shipped:g} (from the curve run)"] = {
                "questions": outcome["summary"]["questions"],
                "answer_contains_gold": point["correct_when_answerable"],
                "answered_when_answerable": point["answered_when_answerable"],
                "abstained_when_unanswerable": point["abstained_when_unanswerable"],
            }
    keys = [
        "questions",
        "answer_contains_gold",
        "answered_when_answerable",
        "abstained_when_unanswerable",
        "short_answer_exact_match",
        "short_answer_f1",
        "latency_p50_ms",
        "generate_p50_ms",
    ]
    m = machine()
    report["machine"] = m
    lines = [
        f"# Answer reader on SQuAD 2.0 held-out articles ({m['date']}, {m['cpus']} CPUs)",
        "",
        f"Split `{args.split}`: {', '.join(report['articles'])}. All 35 articles indexed.",
        "",
        "| run | " + " | ".join(keys) + " |",
        "|---" * (len(keys) + 1) + "|",
    ]
    for label, summary in report["runs"].items():
        lines.append(f"| {label} | " + " | ".join(str(summary.get(k)) for k in keys) + " |")
    lines += ["", "Curve (reader confidence threshold):", ""]
    lines.append(
        "| threshold | answered (answerable) | correct (answerable) | abstained (unanswerable) |"
    )
    lines.append("|---|---|---|---|")
    for row in report["curve"][::5]:
        lines.append(
            f"| {row['threshold']:.2f} | {row['answered_when_answerable']} | "
            f"{row['correct_when_answerable']} | {row['abstained_when_unanswerable']} |"
        )
    write_report("reader", RESULTS, report, "\n".join(lines) + "\n")
    plot(report, RESULTS / "reader-curve.png", shipped)


def plot(report: dict, target: Path, shipped: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = report["curve"]
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.plot(
        [r["abstained_when_unanswerable"] for r in rows],
        [r["answered_when_answerable"] for r in rows],
        label="answered when answerable",
    )
    ax.plot(
        [r["abstained_when_unanswerable"] for r in rows],
        [r["correct_when_answerable"] for r in rows],
        label="answered correctly",
    )
    point = report["at_shipped_threshold"]
    ax.scatter(
        [point["abstained_when_unanswerable"]],
        [point["answered_when_answerable"]],
        color="black",
        zorder=3,
        label=f"shipped threshold {shipped:g}",
    )
    ax.set_xlabel("abstained when unanswerable")
    ax.set_ylabel("share of answerable questions")
    ax.set_title(f"reader on held-out SQuAD articles ({report['split']})")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(target, dpi=110)


if __name__ == "__main__":
    main()
