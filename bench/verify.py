"""What verification costs: the entailment verifier against the word-rule verifier, same run.

    .venv/bin/python bench/verify.py [--claims eval/claims.yaml] [--repeat 3]

Indexes the claims' corpora in a scratch store, then checks every claim of the file as an LLM
answer's cited sentence is checked (AnswerService.verify: against the three passages of its
cited files closest to it, then the closest other retrieved passage when those do not state
it). Each verifier runs every claim once untimed (warm-up), then `repeat` times timed. Consecutive
claims are grouped five at a time as one LLM answer of five sentences. Writes
bench/results/verify.{json,md}.
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from _common import RESULTS, ROOT, machine, percentiles, table, write_report

ANSWER_SENTENCES = 5


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--claims", type=Path, default=ROOT / "eval" / "claims.yaml")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from rag.answer.entailment import load_entailment
    from rag.answer.generate import Draft
    from rag.answer.verify import Verifier
    from rag.core.settings import Settings
    from rag.eval.claims import PASSAGES_PER_CLAIM, load_claims
    from rag.index.filters import Filters
    from rag.pipeline import build_pipeline

    claims, folders = load_claims(args.claims)
    base = Settings()
    with tempfile.TemporaryDirectory() as scratch:
        pipeline = build_pipeline(base.scratch(Path(scratch), "bench-verify"))
        for folder in folders:
            pipeline.ingest(folder)
        hits = [
            pipeline.retrieve(c.claim, PASSAGES_PER_CLAIM, Filters(files=c.files)) for c in claims
        ]
        verifiers = {
            "words (cheap checks, coverage, cosine)": Verifier(
                pipeline.vectors, base.support_threshold
            ),
            "entailment model (cheap checks, then the model)": Verifier(
                pipeline.vectors, base.support_threshold, load_entailment()
            ),
        }
        results = {}
        for name, verifier in verifiers.items():
            pipeline.answers.verifier = verifier
            per_claim: list[list[float]] = [[] for _ in claims]
            for rep in range(args.repeat + 1):
                for k, (claim, found) in enumerate(zip(claims, hits)):
                    draft = Draft(claims=[(claim.claim, [h.chunk for h in found])])
                    began = time.perf_counter()
                    [sentence] = pipeline.answers.verify(draft, found)
                    if rep:  # the first round warms caches
                        per_claim[k].append((time.perf_counter() - began) * 1000)
            sentence_ms = [statistics.median(v) for v in per_claim]
            answers = [
                sum(sentence_ms[i : i + ANSWER_SENTENCES])
                for i in range(0, len(sentence_ms) - ANSWER_SENTENCES + 1, ANSWER_SENTENCES)
            ]
            results[name] = {
                "sentence_ms": percentiles(sentence_ms),
                "answer_of_5_ms": percentiles(answers),
            }
    words, model = (r["answer_of_5_ms"]["p50_ms"] for r in results.values())
    ratio = model / words
    result = {"claims": len(claims), "repeat": args.repeat, "machine": machine(), "runs": results}
    rows = [
        [
            name,
            r["sentence_ms"]["p50_ms"],
            r["sentence_ms"]["p95_ms"],
            r["answer_of_5_ms"]["p50_ms"],
            r["answer_of_5_ms"]["p95_ms"],
        ]
        for name, r in results.items()
    ]
    markdown = (
        f"# Verification cost ({len(claims)} claims of {args.claims.name}, median of "
        f"{args.repeat} warm runs each)\n\n"
        + table(
            ["verifier", "sentence p50 ms", "sentence p95 ms", "5-sentence answer p50 ms", "p95"],
            rows,
        )
        + f"\nentailment / words, 5-sentence answer p50: {ratio:.2f}x\n"
    )
    write_report("verify", RESULTS, result, markdown)


if __name__ == "__main__":
    main()
