"""Conversations and open questions (eval/conversations.yaml): follow-ups answered in context,
open questions answered with their points instead of an abstention."""

import time
from pathlib import Path
from typing import Any

import yaml

from rag.answer.followup import Turn
from rag.eval.harness import contains
from rag.pipeline import Pipeline


def load_conversations(path: Path) -> dict[str, Any]:
    """The file with letters resolved to file names."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    names = raw.get("files", {})

    def files(entry: dict) -> list[str]:
        return [names.get(f, f) for f in entry.get("files", [])]

    conversations = [
        {"id": c["id"], "turns": [{**t, "files": files(t)} for t in c["turns"]]}
        for c in raw.get("conversations", [])
    ]
    open_questions = [{**q, "files": files(q)} for q in raw.get("open", [])]
    return {"conversations": conversations, "open": open_questions}


def run_conversations(pipeline: Pipeline, suite: dict[str, Any]) -> dict[str, Any]:
    """Scores, and one case per follow-up turn and open question (for the baseline gate)."""
    turns = [turn for c in suite["conversations"] for turn in _converse(pipeline, c)]
    follow_ups = [t for t in turns if t["turn"] > 0]
    opens = [_open(pipeline, q) for q in suite["open"]]
    aggregates = {
        "followup_accuracy": _share([t["passed"] for t in follow_ups]),
        "first_turn_accuracy": _share([t["passed"] for t in turns if t["turn"] == 0]),
        "open_coverage": _mean([q["coverage"] for q in opens]),
        "open_citation_correctness": _share([q["citations_correct"] for q in opens]),
        "open_answered": _share([not q["abstained"] for q in opens]),
    }
    return {"aggregates": aggregates, "cases": follow_ups + opens, "first_turns": turns}


def _converse(pipeline: Pipeline, conversation: dict) -> list[dict]:
    history: list[Turn] = []
    scored = []
    for n, turn in enumerate(conversation["turns"]):
        began = time.perf_counter()
        answer = pipeline.ask(turn["question"], history=list(history))
        shown = answer.answer
        missing = [g for g in turn["must_contain"] if not any(contains(shown, a) for a in g)]
        cited = {c.file for s in answer.sentences if s.supported for c in s.citations}
        outside = sorted(cited - set(turn["files"])) if turn["files"] else []
        scored.append(
            {
                "id": f"{conversation['id']}#{n + 1}",
                "turn": n,
                "status": "measured",
                "question": turn["question"],
                "read_as": answer.question,
                "answer": shown,
                "missing": missing,
                "outside": outside,
                "abstained": answer.abstained,
                "passed": not missing and not outside and not answer.abstained,
                "latency_ms": round((time.perf_counter() - began) * 1000, 1),
            }
        )
        history += [Turn("user", turn["question"]), Turn("assistant", shown)]
    return scored


def _open(pipeline: Pipeline, case: dict) -> dict:
    answer = pipeline.ask(case["question"])
    covered = [any(contains(answer.answer, a) for a in group) for group in case["points"]]
    cited = {c.file for s in answer.sentences if s.supported for c in s.citations}
    correct = not case["files"] or cited <= set(case["files"])
    coverage = sum(covered) / len(covered) if covered else 0.0
    return {
        "id": case["id"],
        "status": "measured",
        "question": case["question"],
        "route": answer.route,
        "answer": answer.answer,
        "abstained": answer.abstained,
        "coverage": round(coverage, 4),
        "citations_correct": correct and bool(cited),
        "forbidden": [],
        "passed": coverage == 1.0 and correct and not answer.abstained,
    }


def _share(values: list) -> float:
    return round(sum(bool(v) for v in values) / len(values), 4) if values else 0.0


def _mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 4) if values else 0.0
