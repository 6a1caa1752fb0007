"""The verifier eval (eval/claims.yaml): single claims, faithful or not, each checked against
the passages of the files it cites, as an LLM's cited sentence would be.

For each claim the three passages of its cited files closest to it (hybrid retrieval restricted
to those files) are what it "cites"; the verifier keeps it or flags it. Scores: faithful claims
kept, unfaithful claims flagged, overall and per category.
"""

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from rag.core.settings import Settings
from rag.index.filters import Filters

PASSAGES_PER_CLAIM = 3


@dataclass
class Claim:
    id: str
    claim: str
    faithful: bool
    category: str
    files: list[str]
    note: str = ""


def load_claims(path: Path) -> tuple[list[Claim], list[Path]]:
    """The claims with aliases resolved to file names, and the corpus folders they need."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    names, corpora = raw["files"], raw.get("corpora", {})
    root = path.resolve().parent.parent
    claims = [
        Claim(
            id=c["id"],
            claim=c["claim"],
            faithful=bool(c["faithful"]),
            category=c["category"],
            files=[names[a] for a in c["cites"]],
            note=c.get("note", ""),
        )
        for c in raw["claims"]
    ]
    folders = sorted({(root / corpora[a]).resolve() for a in names if a in corpora})
    return claims, folders


def run_claims(path: Path, settings: Settings) -> dict[str, Any]:
    """Index the claims' corpora in a scratch store and score the verifier on every claim."""
    from rag.pipeline import build_pipeline

    claims, folders = load_claims(path)
    with tempfile.TemporaryDirectory() as scratch:
        pipeline = build_pipeline(settings.scratch(Path(scratch), "claims"))
        for folder in folders:
            pipeline.ingest(folder)
        cases = [_check(pipeline, claim) for claim in claims]
    return {"aggregates": claim_scores(cases), "cases": cases}


def _check(pipeline, claim: Claim) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    began = time.perf_counter()
    hits = pipeline.retrieve(claim.claim, PASSAGES_PER_CLAIM, Filters(files=claim.files))
    sentence = pipeline.answers.verifier.verify(claim.claim, [hit.chunk for hit in hits])
    return {
        "id": f"claim:{claim.id}",
        "category": claim.category,
        "faithful": claim.faithful,
        "kept": sentence.supported,
        "passed": sentence.supported == claim.faithful,
        "reason": sentence.reason,
        "claim": claim.claim,
        "status": "measured",
        "verify_ms": round((time.perf_counter() - began) * 1000, 1),
    }


def claim_scores(cases: list[dict[str, Any]]) -> dict[str, float]:
    """Faithful kept and unfaithful flagged, overall and per category."""
    faithful = [c for c in cases if c["faithful"]]
    unfaithful = [c for c in cases if not c["faithful"]]
    scores = {
        "claims_faithful_kept": _share([c["kept"] for c in faithful]),
        "claims_unfaithful_flagged": _share([not c["kept"] for c in unfaithful]),
    }
    for category in sorted({c["category"] for c in cases}):
        members = [c for c in cases if c["category"] == category]
        key = "kept" if members[0]["faithful"] else "flagged"
        scores[f"claims_{key}_{category}"] = _share([c["passed"] for c in members])
    return scores


def _share(values: list[bool]) -> float:
    return round(sum(values) / len(values), 4) if values else 0.0
