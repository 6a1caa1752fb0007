"""The cross-source view's alignment, scored on hand-labelled sentence pairs
(eval/alignment_pairs.yaml): does `rag compare`, run on the pair's whole corpus, put the two
sentences (a clause of each) in one group of claims exactly when a person says they report
the same thing?"""

import re
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from rag.analysis.compare import aligned_claims, claim_similarity
from rag.answer.evidence import SentenceVectors
from rag.core.models import Chunk, Span

Corpus = dict[str, list[Chunk]]  # a corpus's indexed chunks, by file


def load_pairs(path: Path) -> tuple[list[dict[str, Any]], dict[str, Path]]:
    """The labelled pairs and the corpus folders they quote (relative to the folder above the
    one holding the file: the repository root for eval/alignment_pairs.yaml)."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    root = path.resolve().parent.parent
    return raw["pairs"], {name: root / folder for name, folder in raw["corpora"].items()}


def run_alignment(
    pairs: list[dict[str, Any]], corpora: dict[str, Corpus], vectors: SentenceVectors
) -> dict[str, Any]:
    """Precision and recall of compare's alignment against the labels, overall and per
    corpus; one case per pair for the gate, with the pair's closest clauses' cosine."""
    group_of = {name: _groups_by_place(chunks, vectors) for name, chunks in corpora.items()}
    cases = []
    for p in pairs:
        places = group_of[p["corpus"]]
        found = bool(_groups(places, p["a"]) & _groups(places, p["b"]))
        similarity = claim_similarity(p["a"]["sentence"], p["b"]["sentence"], vectors)
        cases.append(
            {
                "id": f"align-{p['id']}",
                "status": "measured",
                "passed": found == bool(p["aligned"]),
                "aligned": bool(p["aligned"]),
                "found": found,
                "similarity": round(float(similarity), 3),
                "corpus": p.get("corpus", ""),
            }
        )
    aggregates = _scores(cases, "alignment")
    for corpus in sorted({c["corpus"] for c in cases if c["corpus"]}):
        aggregates.update(
            _scores([c for c in cases if c["corpus"] == corpus], f"alignment_{corpus}")
        )
    return {"aggregates": aggregates, "cases": cases}


def _groups_by_place(chunks: Corpus, vectors: SentenceVectors) -> list[tuple[Span, int]]:
    return [
        (claim, n) for n, group in enumerate(aligned_claims(chunks, vectors)) for claim in group
    ]


def _groups(places: list[tuple[Span, int]], side: dict[str, str]) -> set[int]:
    """The groups of the claims (clauses) that make up the labelled sentence (or, for a
    labelled part of a sentence, of the claim holding it)."""
    sentence = _words(side["sentence"])
    return {
        n
        for claim, n in places
        if claim.file == side["file"]
        and ((words := _words(claim.text)) in sentence or sentence in words)
    }


def _words(text: str) -> str:
    """The text's words alone: quotes, punctuation and spacing differ between a labelled
    sentence and the claim cut from the file."""
    return " " + " ".join(re.findall(r"\w+", text.lower())) + " "


def _scores(cases: list[dict[str, Any]], prefix: str) -> dict[str, float]:
    found = np.array([c["found"] for c in cases])
    truth = np.array([c["aligned"] for c in cases])
    hits = int((found & truth).sum())
    return {
        f"{prefix}_precision": round(hits / max(1, int(found.sum())), 3),
        f"{prefix}_recall": round(hits / max(1, int(truth.sum())), 3),
    }
