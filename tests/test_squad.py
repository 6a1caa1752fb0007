"""The SQuAD adapter on a tiny dataset in SQuAD's own format (the real run is a benchmark)."""

import json

import pytest

from rag.eval.squad import run_squad, sample, write_articles
from tests.helpers import make_settings

pytestmark = pytest.mark.slow  # SQuAD in a scratch store

DATASET = {
    "version": "v2.0",
    "data": [
        {
            "title": "Lighthouses",
            "paragraphs": [
                {
                    "context": (
                        "The Port Ember lighthouse was built in 1872. Its keeper is Tomas Wren."
                    ),
                    "qas": [
                        {
                            "id": "q1",
                            "question": "When was the Port Ember lighthouse built?",
                            "answers": [{"text": "1872", "answer_start": 39}],
                            "is_impossible": False,
                        },
                        {
                            "id": "q2",
                            "question": "Who painted the Port Ember lighthouse red?",
                            "answers": [],
                            "is_impossible": True,
                        },
                    ],
                }
            ],
        },
        {
            "title": "Volcanoes",
            "paragraphs": [
                {
                    "context": "Mount Kerrow erupted in 2011. Ash reached the town of Lisk.",
                    "qas": [
                        {
                            "id": "q3",
                            "question": "Which town did the ash from Mount Kerrow reach?",
                            "answers": [{"text": "Lisk", "answer_start": 55}],
                            "is_impossible": False,
                        }
                    ],
                }
            ],
        },
    ],
}


def test_articles_become_files_with_gold_paragraph_offsets(tmp_path):
    dataset = tmp_path / "dev.json"
    dataset.write_text(json.dumps(DATASET))
    folder = tmp_path / "articles"
    folder.mkdir()
    questions = write_articles(dataset, folder)
    assert sorted(p.name for p in folder.iterdir()) == ["00_Lighthouses.txt", "01_Volcanoes.txt"]
    q3 = next(q for q in questions if q.id == "q3")
    text = (folder / q3.file).read_text()
    assert text[q3.span[0] : q3.span[1]] == DATASET["data"][1]["paragraphs"][0]["context"]
    assert sample(questions, 2, seed=7) == sample(questions, 2, seed=7)


def test_a_run_scores_retrieval_answers_and_abstention(tmp_path):
    dataset = tmp_path / "dev.json"
    dataset.write_text(json.dumps(DATASET))
    outcome = run_squad(dataset, make_settings(tmp_path / "rag"), 0, 0, 3, progress=False)
    summary = outcome["summary"]
    assert (summary["questions"], summary["answerable"], summary["unanswerable"]) == (3, 2, 1)
    by_id = {r["id"]: r for r in outcome["results"]}
    assert by_id["q1"]["article_hit"] and by_id["q1"]["paragraph_hit"]
    assert by_id["q1"]["contains_answer"] and by_id["q3"]["contains_answer"]
    assert summary["answer_contains_gold"] == 1.0
