"""SQuAD 2.0 as a benchmark: one file per article; retrieval, answers and abstention scored."""

import json
import random
import re
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.core.settings import Settings
from rag.eval.harness import contains
from rag.pipeline import Pipeline, build_pipeline


@dataclass
class SquadQuestion:
    id: str
    question: str
    answers: list[str]
    impossible: bool
    file: str
    span: tuple[int, int]  # the gold paragraph's offsets in the file
    article: str = ""


def write_articles(dataset: Path, folder: Path) -> list[SquadQuestion]:
    """One text file per article (title, then paragraphs); every question with its gold span."""
    data = json.loads(dataset.read_text(encoding="utf-8"))["data"]
    questions = []
    for number, article in enumerate(data):
        name = f"{number:02d}_{re.sub(r'[^A-Za-z0-9]+', '_', article['title']).strip('_')}.txt"
        parts, offset = [], 0
        for paragraph in article["paragraphs"]:
            start = offset
            parts.append(paragraph["context"])
            offset += len(paragraph["context"]) + 2
            for qa in paragraph["qas"]:
                questions.append(
                    SquadQuestion(
                        id=qa["id"],
                        question=qa["question"],
                        answers=sorted({a["text"] for a in qa["answers"]}),
                        impossible=qa["is_impossible"],
                        file=name,
                        span=(start, start + len(paragraph["context"])),
                        article=article["title"],
                    )
                )
        (folder / name).write_text("\n\n".join(parts), encoding="utf-8")
    return questions


def sample(questions: list[SquadQuestion], n: int, seed: int) -> list[SquadQuestion]:
    """n questions drawn with a fixed seed (all when n is 0 or too large)."""
    if not n or n >= len(questions):
        return questions
    return random.Random(seed).sample(questions, n)


def score(pipeline: Pipeline, question: SquadQuestion, k: int) -> dict:
    began = time.perf_counter()
    answer = pipeline.ask(question.question)
    latency = (time.perf_counter() - began) * 1000
    hits = pipeline.retriever.retrieve(question.question, k)
    in_article = [h for h in hits if h.chunk.file == question.file]
    lo, hi = question.span
    short = answer.short_answer or ""
    answered = not answer.abstained and not question.impossible
    return {
        "id": question.id,
        "impossible": question.impossible,
        "abstained": answer.abstained,
        "article_hit": bool(in_article),
        "paragraph_hit": any(h.chunk.start < hi and h.chunk.end > lo for h in in_article),
        "contains_answer": (
            not answer.abstained
            and not question.impossible
            and any(contains(answer.answer, a) for a in question.answers)
        ),
        "confidence": answer.confidence,
        "short_answer": short or None,
        "span_em": max(
            (float(normalise_answer(short) == normalise_answer(a)) for a in question.answers),
            default=0.0,
        )
        if answered
        else None,
        "span_f1": max((answer_f1(short, a) for a in question.answers), default=0.0)
        if answered
        else None,
        "latency_ms": round(latency, 1),
        "generate_ms": answer.timings.get("generate_ms"),
    }


def share(rows: list[dict], key: str) -> float:
    return round(sum(r[key] for r in rows) / len(rows), 4) if rows else 0.0


def summarise_results(results: list[dict], k: int) -> dict:
    answerable = [r for r in results if not r["impossible"]]
    impossible = [r for r in results if r["impossible"]]
    latencies = [r["latency_ms"] for r in results]
    return {
        "questions": len(results),
        "answerable": len(answerable),
        "unanswerable": len(impossible),
        f"article_hit_at_{k}": share(answerable, "article_hit"),
        f"paragraph_hit_at_{k}": share(answerable, "paragraph_hit"),
        "answer_contains_gold": share(answerable, "contains_answer"),
        "answered_when_answerable": round(1 - share(answerable, "abstained"), 4),
        "abstained_when_unanswerable": share(impossible, "abstained"),
        "abstention_accuracy": round(
            (sum(not r["abstained"] for r in answerable) + sum(r["abstained"] for r in impossible))
            / max(1, len(results)),
            4,
        ),
        "short_answer_exact_match": _mean_of(answerable, "span_em"),
        "short_answer_f1": _mean_of(answerable, "span_f1"),
        "latency_p50_ms": round(float(np.percentile(latencies, 50)), 1) if latencies else 0.0,
        "latency_p95_ms": round(float(np.percentile(latencies, 95)), 1) if latencies else 0.0,
        "latency_mean_ms": round(statistics.fmean(latencies), 1) if latencies else 0.0,
    }


def _mean_of(rows: list[dict], key: str) -> float | None:
    values = [r[key] for r in rows if r.get(key) is not None]
    return round(statistics.fmean(values), 4) if values else None


def normalise_answer(text: str) -> str:
    """SQuAD's answer normalisation: lower case, no punctuation or articles."""
    text = "".join(ch for ch in text.lower() if ch.isalnum() or ch.isspace())
    return " ".join(w for w in text.split() if w not in ("a", "an", "the"))


def answer_f1(predicted: str, gold: str) -> float:
    from collections import Counter

    p, g = normalise_answer(predicted).split(), normalise_answer(gold).split()
    common = sum((Counter(p) & Counter(g)).values())
    if not p or not g or not common:
        return float(p == g)
    precision, recall = common / len(p), common / len(g)
    return 2 * precision * recall / (precision + recall)


def curve(results: list[dict], steps: int = 100) -> list[dict]:
    """Answered-when-answerable, correct, and abstained-when-unanswerable at each threshold on
    the reader's confidence (from a run that answered everything: reader_threshold 0)."""
    answerable = [r for r in results if not r["impossible"]]
    impossible = [r for r in results if r["impossible"]]

    def conf(r: dict) -> float:
        if r["confidence"] is not None:
            return r["confidence"]
        # no reader score: abstained before reading, or answered by another route (an open
        # question's points), which the threshold does not gate
        return -1.0 if r["abstained"] else 2.0

    rows = []
    for step in range(steps + 1):
        t = step / steps
        rows.append(
            {
                "threshold": t,
                "answered_when_answerable": share([{"x": conf(r) >= t} for r in answerable], "x"),
                "correct_when_answerable": share(
                    [{"x": conf(r) >= t and r["contains_answer"]} for r in answerable], "x"
                ),
                "abstained_when_unanswerable": share([{"x": conf(r) < t} for r in impossible], "x"),
            }
        )
    return rows


def operating_point(rows: list[dict], answered: float = 0.90) -> dict:
    """The highest threshold that still answers `answered` of the answerable questions."""
    fit = [r for r in rows if r["answered_when_answerable"] >= answered]
    return max(fit, key=lambda r: r["threshold"]) if fit else rows[0]


def split_titles(split: str, model_dir: Path | None = None) -> set[str] | None:
    """The article titles of the reader's tune or test split (None: all articles)."""
    if split == "all":
        return None
    from rag.answer.reader import MODEL_DIR

    card = json.loads(((model_dir or MODEL_DIR) / "reader.json").read_text(encoding="utf-8"))
    return set(card["split"][split])


def run_squad(
    dataset: Path,
    settings: Settings,
    n: int,
    seed: int,
    k: int,
    progress: bool = True,
    articles: set[str] | None = None,
    prepare=None,  # type: ignore[no-untyped-def]
) -> dict:
    """Index SQuAD's articles in a scratch store, ask a seeded sample of its questions (of the
    given articles only, when given; the index always holds all of them), score."""
    from tqdm import tqdm

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "articles"
        folder.mkdir()
        questions = write_articles(dataset, folder)
        pipeline = build_pipeline(settings.scratch(Path(scratch) / "index", "squad"))
        if prepare is not None:
            prepare(pipeline)
        report = pipeline.ingest(folder, progress=progress)
        if articles is not None:
            questions = [q for q in questions if q.article in articles]
        chosen = sample(questions, n, seed)
        results = [
            score(pipeline, q, k) for q in tqdm(chosen, desc="questions", disable=not progress)
        ]
    summary = summarise_results(results, k)
    summary.update(
        {
            "seed": seed,
            "k": k,
            "articles": len(report.added),
            "chunks": report.chunks_written,
            "ingest_seconds": round(report.seconds, 1),
        }
    )
    return {"summary": summary, "results": results}
