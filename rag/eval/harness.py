"""The eval harness: score answers, citations and abstentions on hand-written facts."""

import re
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from rag.answer.verify import check_support
from rag.core.models import Answer
from rag.core.text import NUMBER_WORDS, numbers
from rag.pipeline import Pipeline

GATED = [
    "pass_rate",
    "followup_accuracy",
    "open_coverage",
    "open_citation_correctness",
    "open_answered",
    "answer_accuracy",
    "citation_correctness",
    "citation_recall",
    "citation_precision",
    "abstention_accuracy",
    "hit_at_k",
    "summary_coverage",
    "claims_faithful_kept",
    "claims_unfaithful_flagged",
]
_UNITS = [
    (r"(\d)\s*km\b", r"\1 kilometers"),
    (r"\bkilometres?\b", "kilometers"),
    (r"\bkilometer\b", "kilometers"),
    (r"\bmi\b", "miles"),
    (r"\borganized\b", "organised"),
]
_NUMBER_WORDS = {word: str(n) for word, n in NUMBER_WORDS.items() if n < 20}


@dataclass
class FactCase:
    id: str
    question: str
    must_contain: list[list[str]] = field(default_factory=list)
    must_not_contain: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    abstain: bool = False
    kind: str = ""


@dataclass
class SummaryCase:
    id: str
    files: list[str]
    key_points: list[list[str]]
    must_not_contain: list[str] = field(default_factory=list)
    length: int = 5


@dataclass
class FactSuite:
    cases: list[FactCase]
    summaries: list[SummaryCase]


def load_facts(path: Path) -> FactSuite:
    """Read a facts file; short file aliases (A: name.txt) are resolved."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    alias = raw.get("files", {})
    ids: set[str] = set()
    cases = []
    for item in raw.get("cases", []):
        item = {**item, "files": [alias.get(f, f) for f in item.get("files", [])]}
        cases.append(FactCase(**item))
    summaries = [
        SummaryCase(**{**item, "files": [alias.get(f, f) for f in item.get("files", [])]})
        for item in raw.get("summaries", [])
    ]
    for case_id in [c.id for c in cases] + [s.id for s in summaries]:
        if case_id in ids:
            raise ValueError(f"duplicate case id {case_id!r} in {path}")
        ids.add(case_id)
    return FactSuite(cases, summaries)


def normalise(text: str) -> str:
    """Lower case, units and number words unified, punctuation inside words dropped."""
    text = text.lower().replace("’", "'").replace("–", "-")
    text = re.sub(r"(?<=\d),(?=\d{3})", "", text)
    text = re.sub(r"\b(\w)\.(\w)\.", r"\1\2", text)  # u.n. -> un
    for pattern, replacement in _UNITS:
        text = re.sub(pattern, replacement, text)
    words = [_NUMBER_WORDS.get(w, w) for w in re.findall(r"[\w'-]+|\S", text)]
    return " ".join(words)


def _states(answer: str, number: str) -> bool:
    """Does the answer state this number, as a value ("thirty-eight" for 38) or as written
    ("4.1" of "£4.1m", whose value is 4,100,000)?"""
    written = {float(n.replace(",", "")) for n in re.findall(r"\d+(?:,\d{3})*(?:\.\d+)?", answer)}
    return float(number) in numbers(answer) | written


def contains(answer: str, expected: str) -> bool:
    """Does the answer state the expected text (after normalising both)?"""
    decimal = expected.strip()
    if re.fullmatch(r"\d+\.\d+", decimal) and _states(answer, decimal):
        return True  # "3.42" in "at 3.42am", which the word match below splits apart
    needle, haystack = normalise(expected), normalise(answer)
    if re.fullmatch(r"\d+(\.\d+)?", needle):
        return _states(answer, needle)
    return re.search(rf"(?<![\w]){re.escape(needle)}(?![\w])", haystack) is not None


def score_case(pipeline: Pipeline, case: FactCase, top_k: int) -> dict[str, Any]:
    """One question: correctness, citations (ALCE recall/precision), abstention, hit@k, latency."""
    began = time.perf_counter()
    try:
        answer = pipeline.ask(case.question)
        hits = pipeline.retriever.retrieve(case.question, top_k)
    except Exception as err:  # a case that cannot be scored is reported, never passed
        return {
            "id": case.id,
            "status": "unmeasured",
            "error": f"{type(err).__name__}: {err}",
            "passed": False,
        }
    latency = (time.perf_counter() - began) * 1000
    shown = [s for s in answer.sentences if s.supported]
    cited = [c.file for s in shown for c in s.citations]
    result: dict[str, Any] = {
        "id": case.id,
        "status": "measured",
        "question": case.question,
        "kind": case.kind,
        "should_abstain": case.abstain,
        "abstained": answer.abstained,
        "confidence": answer.confidence,
        "answer": answer.answer,
        "latency_ms": round(latency, 1),
        "cited_files": sorted(set(cited)),
        "abstention_correct": answer.abstained == case.abstain,
    }
    if case.abstain:
        result["passed"] = answer.abstained
        return result
    missing = [g for g in case.must_contain if not any(contains(answer.answer, x) for x in g)]
    forbidden = [x for x in case.must_not_contain if contains(answer.answer, x)]
    wrong_files = sorted({f for f in cited if case.files and f not in case.files})
    recall, precision = citation_quality(pipeline, answer)
    result.update(
        {
            "answer_correct": not answer.abstained and not missing and not forbidden,
            "missing": missing,
            "forbidden": forbidden,
            "citation_correct": bool(cited) and not wrong_files,
            "wrong_files": wrong_files,
            "citation_recall": recall,
            "citation_precision": precision,
            "hit_at_k": any(h.chunk.file in case.files for h in hits) if case.files else None,
        }
    )
    result["passed"] = result["answer_correct"] and result["citation_correct"]
    return result


def citation_quality(pipeline: Pipeline, answer: Answer) -> tuple[float, float]:
    """ALCE-style, with our verifier: is each shown sentence supported by its citations together
    (recall), and is each citation needed (precision: not irrelevant alone and redundant given the
    rest)."""
    shown = [s for s in answer.sentences if s.supported]
    if not shown:
        return 0.0, 0.0
    supported, needed, total = 0, 0, 0
    for sentence in shown:
        quotes = [c.quote for c in sentence.citations]
        supported += _supports(pipeline, sentence.text, quotes)
        for i, quote in enumerate(quotes):
            total += 1
            alone = _supports(pipeline, sentence.text, [quote])
            rest = quotes[:i] + quotes[i + 1 :]
            needed += alone or not (rest and _supports(pipeline, sentence.text, rest))
    return supported / len(shown), needed / max(1, total)


def _supports(pipeline: Pipeline, claim: str, quotes: list[str]) -> bool:
    if not quotes:
        return False
    matrix = pipeline.vectors.embed([claim, *quotes])
    similarity = float(np.max(matrix[1:] @ matrix[0]))
    return check_support(claim, quotes, similarity, pipeline.verifier.threshold).supported


def score_summary(pipeline: Pipeline, case: SummaryCase) -> dict[str, Any]:
    """A summary case: key points covered, forbidden claims absent, every sentence grounded."""
    try:
        summary = pipeline.summarize(case.files or None, case.length)
    except Exception as err:
        return {
            "id": case.id,
            "status": "unmeasured",
            "error": f"{type(err).__name__}: {err}",
            "passed": False,
        }
    covered = [g for g in case.key_points if any(contains(summary.answer, x) for x in g)]
    forbidden = [x for x in case.must_not_contain if contains(summary.answer, x)]
    cited = {c.file for s in summary.sentences if s.supported for c in s.citations}
    outside = sorted(cited - set(case.files)) if case.files else []
    coverage = len(covered) / max(1, len(case.key_points))
    grounded = all(s.supported for s in summary.sentences)
    return {
        "id": case.id,
        "status": "measured",
        "summary": summary.answer,
        "coverage": coverage,
        "forbidden": forbidden,
        "cites_outside": outside,
        "grounded": grounded,
        "passed": coverage == 1.0 and not forbidden and not outside and grounded,
    }


def aggregate(cases: list[dict], summaries: list[dict]) -> dict[str, float]:
    """Suite-level scores; unmeasured cases count as failures everywhere."""
    measured = [c for c in cases if c["status"] == "measured"]
    answerable = [c for c in measured if not c["should_abstain"]]
    n_answerable = len([c for c in cases if not c.get("should_abstain", False)]) or 1
    latencies = [c["latency_ms"] for c in measured]
    hits = [c["hit_at_k"] for c in answerable if c["hit_at_k"] is not None]
    scores = {
        "cases": len(cases),
        "unmeasured": len(cases)
        - len(measured)
        + sum(s["status"] != "measured" for s in summaries),
        "pass_rate": _share([c["passed"] for c in cases]),
        "answer_accuracy": sum(c["answer_correct"] for c in answerable) / n_answerable,
        "citation_correctness": sum(c["citation_correct"] for c in answerable) / n_answerable,
        "citation_recall": _mean([c["citation_recall"] for c in answerable]),
        "citation_precision": _mean([c["citation_precision"] for c in answerable]),
        "abstention_accuracy": _share([c.get("abstention_correct", False) for c in cases]),
        "hit_at_k": _share(hits),
        "summary_coverage": _mean([s.get("coverage", 0.0) for s in summaries]),
        "summary_pass_rate": _share([s["passed"] for s in summaries]),
        "latency_p50_ms": round(float(np.percentile(latencies, 50)), 1) if latencies else 0.0,
        "latency_p95_ms": round(float(np.percentile(latencies, 95)), 1) if latencies else 0.0,
    }
    if not summaries:  # a facts file without summaries does not score them (rather than 0)
        del scores["summary_coverage"], scores["summary_pass_rate"]
    return scores


def _share(values: list) -> float:
    return round(sum(bool(v) for v in values) / len(values), 4) if values else 0.0


def _mean(values: list[float]) -> float:
    return round(statistics.fmean(values), 4) if values else 0.0


def run_suite(pipeline: Pipeline, suite: FactSuite, label: str, repeats: int = 1) -> dict:
    """Score every case (repeats times); a case passes when it passes in most repeats."""
    top_k = pipeline.settings.top_k
    rounds = []
    for _ in range(max(1, repeats)):
        cases = [score_case(pipeline, case, top_k) for case in suite.cases]
        summaries = [score_summary(pipeline, case) for case in suite.summaries]
        rounds.append((cases, summaries, aggregate(cases, summaries)))
    cases, summaries, _ = rounds[0]
    for i, case in enumerate(cases):
        votes = [r[0][i]["passed"] for r in rounds]
        case["pass_share"] = sum(votes) / len(votes)
        case["passed"] = case["pass_share"] > 0.5
    aggregates = {
        key: round(statistics.fmean(r[2][key] for r in rounds), 4) for key in rounds[0][2]
    }
    spread = {
        key: round(statistics.pstdev(r[2][key] for r in rounds), 4)
        for key in GATED
        if key in rounds[0][2]
    }
    return {
        "label": label,
        "repeats": len(rounds),
        "aggregates": aggregates,
        "spread": spread,
        "cases": cases,
        "summaries": summaries,
    }
