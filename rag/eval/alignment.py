"""The cross-source view's alignment, scored on hand-labelled sentence pairs
(eval/alignment_pairs.yaml): does `rag compare` treat two sentences of different files as
reporting the same claim exactly when a person does?"""

from pathlib import Path
from typing import Any

import numpy as np
import yaml

from rag.analysis.compare import SAME_CLAIM, claim_similarity
from rag.answer.evidence import SentenceVectors


def load_pairs(path: Path) -> list[dict[str, Any]]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["pairs"]


def run_alignment(pairs: list[dict[str, Any]], vectors: SentenceVectors) -> dict[str, Any]:
    """Precision and recall of "same claim" (compare's measure and bar: the closest clauses of
    the two sentences) against the labels, overall and per corpus; one case per pair
    for the gate."""
    similarity = [claim_similarity(p["a"]["sentence"], p["b"]["sentence"], vectors) for p in pairs]
    cases = [
        {
            "id": f"align-{p['id']}",
            "status": "measured",
            "passed": bool(s >= SAME_CLAIM) == bool(p["aligned"]),
            "aligned": bool(p["aligned"]),
            "similarity": round(float(s), 3),
            "corpus": p.get("corpus", ""),
        }
        for p, s in zip(pairs, similarity)
    ]
    aggregates = _scores(cases, "alignment")
    for corpus in sorted({c["corpus"] for c in cases if c["corpus"]}):
        aggregates.update(
            _scores([c for c in cases if c["corpus"] == corpus], f"alignment_{corpus}")
        )
    return {"aggregates": aggregates, "cases": cases}


def _scores(cases: list[dict[str, Any]], prefix: str) -> dict[str, float]:
    found = np.array([c["similarity"] >= SAME_CLAIM for c in cases])
    truth = np.array([c["aligned"] for c in cases])
    hits = int((found & truth).sum())
    return {
        f"{prefix}_precision": round(hits / max(1, int(found.sum())), 3),
        f"{prefix}_recall": round(hits / max(1, int(truth.sum())), 3),
    }
