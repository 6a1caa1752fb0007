"""An answer is shown only when its passage states it: the question answered, as one
statement, checked by the entailment model against the sentences the answer cites."""

import pytest

from rag.answer.check import as_statement
from rag.answer.extract import Reply
from rag.answer.generate import ExtractiveGenerator
from rag.core.models import Chunk
from tests.helpers import make_settings


@pytest.mark.parametrize(
    "question, answer, statement",
    [
        (
            "Who is the Prime Minister of Syria?",
            "Turkiye",
            "the Prime Minister of Syria is Turkiye.",
        ),
        ("How old was the photographer?", "32", "32 was the photographer."),
        ("When did the offensive begin?", "last week", "the offensive begin last week."),
        ("Which city did the rebels capture?", "Aleppo", "the rebels capture Aleppo."),
        (
            "Who won the 2022 FIFA World Cup?",
            "Geir Pedersen",
            "Geir Pedersen won the 2022 FIFA World Cup.",
        ),
        (
            "According to SANA, how far did the insurgents retreat?",
            "20 kilometers",
            "20 kilometers did the insurgents retreat.",
        ),
    ],
)
def test_a_question_and_its_answer_make_one_statement(question, answer, statement):
    assert as_statement(question, answer) == statement


class Support:
    def __init__(self, probability: float):
        self.value = probability
        self.seen: list[tuple[str, str]] = []

    def probability(self, claim: str, premise: str) -> float:
        self.seen.append((claim, premise))
        return self.value


def _reply(tmp_path, probability: float) -> Reply:
    text = "Geir Pedersen, the UN special envoy for Syria, said Tuesday."
    chunk = Chunk("c", "a.txt", text, 0, len(text), 1, [(0, len(text))])
    return Reply("Geir Pedersen", [(chunk.spans()[0], [chunk])], probability, probability >= 0.16)


@pytest.mark.parametrize("support, shown", [(0.5, True), (0.001, False)])
def test_an_answer_its_passage_does_not_support_is_abstained(tmp_path, support, shown):
    generator = ExtractiveGenerator(make_settings(tmp_path))
    generator.check = Support(support)
    assert generator._answers("Who is the UN envoy?", _reply(tmp_path, 0.6)) is shown
    claim, premise = generator.check.seen[0]
    assert claim == "the UN envoy is Geir Pedersen." and "special envoy" in premise


def test_the_check_never_rescues_an_answer_the_reader_is_unsure_of(tmp_path):
    generator = ExtractiveGenerator(make_settings(tmp_path))
    generator.check = Support(1.0)
    assert not generator._answers("Who is the UN envoy?", _reply(tmp_path, 0.05))
    assert generator.check.seen == []


def test_with_the_check_off_the_reader_decides_alone(tmp_path):
    generator = ExtractiveGenerator(make_settings(tmp_path, answer_check="off"))
    assert generator.check is None
    assert generator._answers("Who is the UN envoy?", _reply(tmp_path, 0.6))


def test_the_shipped_model_supports_a_plainly_stated_answer(tmp_path):
    generator = ExtractiveGenerator(make_settings(tmp_path))
    passage = "The council opened the new library on Carver Street in 2019."
    for question, answer in [
        ("When did the council open the library?", "2019"),
        ("Where is the new library?", "Carver Street"),
    ]:
        assert generator.support(question, answer, passage) >= generator.check_threshold
