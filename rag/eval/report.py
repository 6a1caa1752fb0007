"""Eval outputs: the gate against a baseline, side-by-side comparisons, JSON/JUnit/Markdown/plot."""

import json
import time
from pathlib import Path
from xml.etree import ElementTree as ET

from rag.eval.harness import GATED


def gate(run: dict, baseline: dict, tolerance: float) -> list[str]:
    """Why this run is worse than the baseline (empty when it is not)."""
    problems = []
    now, before = run["aggregates"], baseline["aggregates"]
    for key in GATED:
        if key in before and now.get(key, 0.0) < before[key] - tolerance:
            problems.append(
                f"{key} dropped {before[key]:.3f} -> {now.get(key, 0.0):.3f} "
                f"(tolerance {tolerance:.3f})"
            )
    if now.get("unmeasured", 0):
        problems.append(f"{int(now['unmeasured'])} case(s) could not be measured")
    passed_before = {c["id"] for c in baseline.get("cases", []) if c.get("passed")}
    for case in all_cases(run):
        if case["id"] in passed_before and not case["passed"]:
            problems.append(f"case {case['id']} passed in the baseline and fails now: {_why(case)}")
    return problems


def all_cases(run: dict) -> list[dict]:
    """Fact cases, summaries, conversation turns and open questions, claims, aligned pairs."""
    return (
        run["cases"]
        + run["summaries"]
        + run.get("conversations", [])
        + run.get("claims", [])
        + run.get("alignment", [])
    )


def _why(case: dict) -> str:
    if case["status"] != "measured":
        return case.get("error", "unmeasured")
    if case.get("should_abstain"):
        return f"answered instead of abstaining: {case['answer'][:120]!r}"
    if "faithful" in case:
        said = "kept" if case["kept"] else f"flagged ({case['reason']})"
        return f"{case['category']} claim {said}: {case['claim'][:100]!r}"
    if "similarity" in case:
        label = "aligned" if case["aligned"] else "not aligned"
        return f"labelled {label}, similarity {case['similarity']:.2f}"
    if "coverage" in case:
        return f"coverage {case['coverage']:.2f}, forbidden {case['forbidden']}"
    parts = []
    if case.get("abstained"):
        parts.append("abstained")
    if case.get("missing"):
        parts.append(f"missing {case['missing']}")
    if case.get("forbidden"):
        parts.append(f"said {case['forbidden']}")
    if case.get("wrong_files"):
        parts.append(f"cited {case['wrong_files']}")
    if not case.get("cited_files") and not case.get("abstained"):
        parts.append("cited nothing")
    return "; ".join(parts) + f" — answer: {case['answer'][:120]!r}"


def baseline_of(run: dict) -> dict:
    """What a baseline file keeps: the aggregates and each case's pass/fail."""
    return {
        "label": run["label"],
        "aggregates": run["aggregates"],
        "cases": [{"id": c["id"], "passed": c["passed"]} for c in all_cases(run)],
    }


def table(runs: list[dict]) -> str:
    """Aggregates side by side, with the delta when there are two runs."""
    keys = [*GATED, "summary_pass_rate", "latency_p50_ms", "latency_p95_ms", "unmeasured"]
    keys += sorted(
        {k for r in runs for k in r["aggregates"] if k.startswith(("claims_", "alignment"))}
        - set(keys)
    )
    header = "| score | " + " | ".join(r["label"] for r in runs)
    header += " | delta |" if len(runs) == 2 else " |"
    lines = [header, "|---" * (len(runs) + 1 + (len(runs) == 2)) + "|"]
    for key in [k for k in keys if any(k in r["aggregates"] for r in runs)]:
        values = [r["aggregates"].get(key, 0.0) for r in runs]
        row = f"| {key} | " + " | ".join(_fmt(v, r, key) for v, r in zip(values, runs))
        if len(runs) == 2:
            row += f" | {values[1] - values[0]:+.3f}"
        lines.append(row + " |")
    return "\n".join(lines)


def _fmt(value: float, run: dict, key: str) -> str:
    """The value, with its spread over repeats when there were several."""
    spread = run.get("spread", {}).get(key)
    return f"{value:.3f}" + (f" ± {spread:.3f}" if run.get("repeats", 1) > 1 and spread else "")


def flipped(a: dict, b: dict) -> list[str]:
    """Cases that pass in one run and fail in the other."""
    before = {c["id"]: c for c in a["cases"] + a["summaries"]}
    lines = []
    for case in b["cases"] + b["summaries"]:
        old = before.get(case["id"])
        if old and old["passed"] != case["passed"]:
            arrow = "pass -> FAIL" if old["passed"] else "fail -> pass"
            detail = _why(case) if not case["passed"] else ""
            lines.append(f"- {case['id']}: {arrow} {detail}".rstrip())
    return lines


def write_reports(runs: list[dict], out: Path, problems: list[str] | None = None) -> list[Path]:
    """results.json, junit.xml, report.md and scores.png in out; history.jsonl grows by a line."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(runs, indent=2, ensure_ascii=False))
    _write_junit(runs[-1], out / "junit.xml")
    with (out / "history.jsonl").open("a") as history:
        for run in runs:
            history.write(
                json.dumps(
                    {
                        "time": time.strftime("%Y-%m-%d %H:%M:%S"),
                        "label": run["label"],
                        **run["aggregates"],
                    }
                )
                + "\n"
            )
    _plot(out / "history.jsonl", out / "scores.png")
    report = ["# citerag eval", "", table(runs), ""]
    if len(runs) == 2:
        report += ["## Cases that flipped", "", *(flipped(*runs) or ["none"]), ""]
    if problems is not None:
        report += ["## Gate", "", *(f"- {p}" for p in problems or ["passed"]), ""]
    failing = [c for c in runs[-1]["cases"] + runs[-1]["summaries"] if not c["passed"]]
    report += [
        "## Failing cases",
        "",
        *(f"- {c['id']}: {_why(c)}" for c in failing),
        "",
        "![scores by run](scores.png)",
        "",
    ]
    (out / "report.md").write_text("\n".join(report))
    return [out / name for name in ("results.json", "junit.xml", "report.md", "scores.png")]


def _write_junit(run: dict, path: Path) -> None:
    cases = run["cases"] + run["summaries"]
    suite = ET.Element(
        "testsuite",
        name=f"citerag-eval {run['label']}",
        tests=str(len(cases)),
        failures=str(sum(not c["passed"] for c in cases)),
    )
    for case in cases:
        element = ET.SubElement(
            suite,
            "testcase",
            classname="facts",
            name=case["id"],
            time=str(case.get("latency_ms", 0) / 1000),
        )
        if not case["passed"]:
            ET.SubElement(element, "failure", message=_why(case)[:500])
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)


def _plot(history: Path, target: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [json.loads(line) for line in history.read_text().splitlines()[-20:]]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    labels = [f"{i + 1}: {r['label']}" for i, r in enumerate(rows)]
    for key in [
        "pass_rate",
        "answer_accuracy",
        "citation_correctness",
        "abstention_accuracy",
        "hit_at_k",
        "summary_coverage",
    ]:
        ax.plot(range(len(rows)), [r.get(key, 0) for r in rows], marker="o", label=key)
    ax.set_xticks(range(len(rows)), labels, rotation=30, ha="right", fontsize=7)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("score")
    ax.set_title("citerag eval scores by run")
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(target, dpi=110)
    plt.close(fig)
