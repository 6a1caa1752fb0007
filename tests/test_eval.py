"""The eval harness scores correctly on small cases, and its gate catches regressions."""

import argparse
from pathlib import Path

import numpy as np
import pytest
import yaml

from rag.core.models import Chunk
from rag.core.text import sentence_spans
from rag.eval.alignment import run_alignment
from rag.eval.cli import run_eval
from rag.eval.harness import FactCase, aggregate, contains, load_facts, normalise, score_case
from rag.eval.report import gate
from tests.helpers import ROOT, make_settings

pytestmark = pytest.mark.slow  # the whole eval harness


@pytest.mark.parametrize(
    "answer, expected, found",
    [
        ("retreated some 20km (12 miles)", "20 kilometers", True),
        ("retreated some 20 kilometres", "20 kilometers", True),
        ("retreated some 20 kilometers", "12 miles", False),
        ("captured five Iran-backed militants", "5", True),
        ("captured 25 militants", "5", False),
        ("an estimated half-million people", "half-million", True),
        ("the U.N. special envoy", "UN special envoy", True),
        ("HTS is very well organized", "well organised", True),
        ("Hama, Syria's fourth largest city", "fourth", True),
        ("the Syrian National Army", "Syrian National Army", True),
        ("Syrians", "Syria", False),
        ("the alarm sounded at 3.42am", "3.42", True),
        ("insured for £2.6 million", "2.6 million", True),
        ("the alarm sounded at 3.43am", "3.42", False),
        ("Thirty-eight staff were made redundant", "38", True),  # one number, not 30 and 8
        ("Eight staff were made redundant", "38", False),
        ("The club owes £4.1m to the taxman", "4.1", True),  # as written, worth 4,100,000
    ],
)
def test_answers_match_expected_text_after_normalising(answer, expected, found):
    assert contains(answer, expected) is found


def test_normalise_unifies_units_and_number_words():
    assert (
        normalise("Five fighters, 20km, 1,204 kilometres")
        == "5 fighters , 20 kilometers , 1204 kilometers"
    )


def test_the_facts_file_is_well_formed():
    suite = load_facts(ROOT / "eval" / "facts.yaml")
    answerable = [c for c in suite.cases if not c.abstain]
    assert len(suite.cases) >= 40 and len([c for c in suite.cases if c.abstain]) >= 8
    articles = {p.name for p in (ROOT / "data" / "articles").iterdir()}
    for case in answerable:
        assert case.must_contain and set(case.files) <= articles, case.id
    assert {c.kind for c in answerable} >= {"all", "single", "number", "name", "date", "quote"}
    assert suite.summaries


class Exploding:
    settings = make_settings(Path("/nonexistent"))

    def ask(self, question):
        raise RuntimeError("the store vanished")


def test_a_case_that_errors_is_unmeasured_and_fails():
    result = score_case(Exploding(), FactCase(id="x", question="Who?", must_contain=[["A"]]), 3)
    assert result["status"] == "unmeasured" and not result["passed"]
    assert "store vanished" in result["error"]
    assert aggregate([result], [])["unmeasured"] == 1


def run(pass_rate: float, passed: dict[str, bool], unmeasured: int = 0) -> dict:
    cases = [
        {
            "id": i,
            "passed": p,
            "status": "measured",
            "answer": "x",
            "should_abstain": False,
            "abstained": True,
        }
        for i, p in passed.items()
    ]
    return {
        "label": "t",
        "aggregates": {"pass_rate": pass_rate, "unmeasured": unmeasured},
        "cases": cases,
        "summaries": [],
    }


def test_gate_fails_on_a_drop_beyond_tolerance_on_a_flipped_case_and_on_unmeasured():
    baseline = run(0.9, {"a": True, "b": False})
    assert gate(run(0.89, {"a": True, "b": False}), baseline, 0.02) == []
    assert gate(run(0.95, {"a": True, "b": True}), baseline, 0.02) == []
    dropped = gate(run(0.80, {"a": True, "b": False}), baseline, 0.02)
    assert dropped == ["pass_rate dropped 0.900 -> 0.800 (tolerance 0.020)"]
    flipped = gate(run(0.9, {"a": False, "b": True}), baseline, 0.02)
    assert len(flipped) == 1 and flipped[0].startswith(
        "case a passed in the baseline and fails now"
    )
    assert "could not be measured" in gate(run(0.9, {"a": True}, unmeasured=1), baseline, 0.02)[0]


def eval_args(tmp_path: Path, **extra) -> argparse.Namespace:
    defaults = dict(
        facts=ROOT / "eval" / "facts.yaml",
        conversations=ROOT / "eval" / "conversations.yaml",
        claims=ROOT / "eval" / "claims.yaml",
        alignment=ROOT / "eval" / "alignment_pairs.yaml",
        corpus=ROOT / "data" / "articles",
        mode=None,
        prompt=None,
        set=[],
        compare=None,
        baseline=ROOT / "eval" / "baseline.json",
        tolerance=0.02,
        write_baseline=None,
        repeats=1,
        out=tmp_path / "out",
    )
    return argparse.Namespace(**{**defaults, **extra})


def test_the_default_configuration_passes_the_committed_baseline(tmp_path, capsys):
    status = run_eval(eval_args(tmp_path), make_settings(tmp_path / "rag"))
    printed = capsys.readouterr().out
    assert status == 0, printed
    assert "Gate: passed" in printed
    for name in ("results.json", "junit.xml", "report.md", "scores.png"):
        assert (tmp_path / "out" / name).stat().st_size > 0


def test_the_paraphrased_facts_pass_their_committed_baseline(tmp_path, capsys):
    args = eval_args(
        tmp_path,
        facts=ROOT / "eval" / "facts_paraphrased.yaml",
        conversations=None,
        baseline=ROOT / "eval" / "baseline_paraphrased.json",
    )
    status = run_eval(args, make_settings(tmp_path / "rag"))
    printed = capsys.readouterr().out
    assert status == 0, printed
    assert "Gate: passed" in printed


def test_the_paraphrased_facts_ask_every_answerable_fact_two_more_ways():
    original = load_facts(ROOT / "eval" / "facts.yaml").cases
    paraphrased = {c.id: c for c in load_facts(ROOT / "eval" / "facts_paraphrased.yaml").cases}
    for case in (c for c in original if not c.abstain):
        for suffix in ("-p1", "-p2"):
            twin = paraphrased[case.id + suffix]
            assert twin.question != case.question
            assert (twin.must_contain, twin.files) == (case.must_contain, case.files)
    assert sum(c.abstain for c in paraphrased.values()) >= 10


def test_a_worse_retriever_setting_fails_the_gate_with_a_readable_diff(tmp_path, capsys):
    status = run_eval(
        eval_args(tmp_path, compare=["top_k=6", "top_k=1,candidates=2"]),
        make_settings(tmp_path / "rag"),
    )
    printed = capsys.readouterr().out
    assert status == 1
    assert "| pass_rate |" in printed and "delta" in printed
    assert "pass -> FAIL" in printed
    assert "Gate: FAILED" in printed and "passed in the baseline and fails now" in printed


@pytest.mark.parametrize(
    "name, least, per_category", [("claims.yaml", 150, 10), ("claims_tune.yaml", 100, 7)]
)
def test_the_claims_files_cover_every_category_and_name_real_files(name, least, per_category):
    from rag.eval.claims import load_claims

    claims, folders = load_claims(ROOT / "eval" / name)
    assert len(claims) >= least and len({c.id for c in claims}) == len(claims)
    on_disk = {p.name for folder in folders for p in folder.iterdir()}
    assert all(set(c.files) <= on_disk for c in claims)
    categories = {c.category for c in claims}
    assert {"paraphrase", "merge", "number", "actor", "negation", "quantity_word"} <= categories
    for category in categories:
        members = [c for c in claims if c.category == category]
        assert len(members) >= per_category and len({c.faithful for c in members}) == 1


def test_claim_scores_count_kept_faithful_and_flagged_unfaithful_per_category():
    from rag.eval.claims import claim_scores

    def case(category: str, faithful: bool, kept: bool) -> dict:
        return {
            "category": category,
            "faithful": faithful,
            "kept": kept,
            "passed": kept == faithful,
        }

    scores = claim_scores(
        [
            case("paraphrase", True, True),
            case("paraphrase", True, False),
            case("number", False, False),
            case("number", False, False),
            case("negation", False, True),
        ]
    )
    assert scores["claims_faithful_kept"] == 0.5
    assert scores["claims_unfaithful_flagged"] == round(2 / 3, 4)
    assert scores["claims_flagged_number"] == 1.0 and scores["claims_flagged_negation"] == 0.0
    assert scores["claims_kept_paraphrase"] == 0.5


def test_every_labelled_alignment_sentence_is_quoted_from_its_file():
    raw = yaml.safe_load((ROOT / "eval" / "alignment_pairs.yaml").read_text(encoding="utf-8"))
    assert len(raw["pairs"]) >= 60
    for pair in raw["pairs"]:
        folder = ROOT / raw["corpora"][pair["corpus"]]
        assert pair["a"]["file"] != pair["b"]["file"], pair["id"]
        for side in (pair["a"], pair["b"]):
            text = " ".join((folder / side["file"]).read_text(encoding="utf-8").split())
            assert " ".join(side["sentence"].split()) in text, pair["id"]


def _file(name: str, *sentences: str) -> list[Chunk]:
    text = " ".join(sentences)
    return [Chunk(f"{name}-0", name, text, 0, len(text), 1, sentence_spans(text))]


class _Vectors:
    """Every text the same vector: cosines are no part of these tests."""

    def embed(self, texts):
        return np.ones((len(texts), 2)) / 2**0.5


def test_alignment_is_scored_on_the_groups_compare_makes_of_the_whole_corpus(monkeypatch):
    """A labelled pair counts as aligned when compare, run on the pair's corpus, puts a clause
    of each sentence in one group; precision and recall count pairs against their labels."""
    corpus = {
        "a.txt": _file("a.txt", "The river burst its banks.", "Ten homes flooded."),
        "b.txt": _file("b.txt", "The Marle overtopped.", "A man died in his flat."),
    }

    def grouped(chunks, vectors):
        spans = {s.text: s for c in sum(chunks.values(), []) for s in c.spans()}
        return [
            [spans["The river burst its banks."], spans["The Marle overtopped."]],
            [spans["Ten homes flooded."], spans["A man died in his flat."]],
        ]

    monkeypatch.setattr("rag.eval.alignment.aligned_claims", grouped)
    pairs = [
        {
            "id": n,
            "corpus": "x",
            "aligned": aligned,
            "a": {"file": "a.txt", "sentence": a},
            "b": {"file": "b.txt", "sentence": b},
        }
        for n, aligned, a, b in [
            ("1", True, "The river burst its banks.", "The Marle overtopped."),
            ("2", True, "Ten homes flooded.", "The Marle overtopped."),
            ("3", False, "Ten homes flooded.", "A man died in his flat."),
            ("4", False, "The river burst its banks.", "A man died in his flat."),
        ]
    ]
    scored = run_alignment(pairs, {"x": corpus}, _Vectors())  # type: ignore[arg-type]
    assert [c["found"] for c in scored["cases"]] == [True, False, True, False]
    assert scored["aggregates"]["alignment_precision"] == 0.5  # 1 of the 2 it aligned
    assert scored["aggregates"]["alignment_recall"] == 0.5  # 1 of the 2 labelled aligned
    assert [c["passed"] for c in scored["cases"]] == [True, False, False, True]
