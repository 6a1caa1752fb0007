import numpy as np

from rag.answer.evidence import Evidence
from rag.answer.generate import overview_draft
from rag.core.models import Chunk
from rag.core.text import sentence_spans

TEXT = (
    "Rail services were suspended across the city after the river rose. "
    "Train operators cancelled every departure while the line stayed under water. "
    "Insurers put the cost of the damage at more than forty million pounds."
)


def evidence(score_and_vector: list[tuple[float, list[float]]]) -> list[Evidence]:
    chunk = Chunk("c1", "a.txt", TEXT, 0, len(TEXT), 1, sentence_spans(TEXT))
    return [
        Evidence(chunk, span.start, span.end, span.text, score, 0.0, np.array(vec), weight=1.0)
        for span, (score, vec) in zip(chunk.spans(), score_and_vector)
    ]


def test_an_open_answer_prefers_a_new_point_to_a_second_wording_of_the_first():
    found = evidence([(0.9, [1.0, 0.0]), (0.85, [0.8, 0.6]), (0.8, [0.0, 1.0])])
    by_score = overview_draft(found, 0.1, points=2, share=0.5, redundancy=0.0)
    assert [text[:5] for text, _ in by_score.claims] == ["Rail ", "Train"]
    diverse = overview_draft(found, 0.1, points=2, share=0.5, redundancy=0.3)
    assert [text[:5] for text, _ in diverse.claims] == ["Rail ", "Insur"]


REJECTED = (
    "Its chief executive, Richard Amesbury, rejected the criticism. "
    '"We did not cause this flood. Without the reservoir, the peak would have been higher," '
    "he said. The company's shares fell on Friday."
)


def first_sentence_as_a_point(text: str) -> str:
    """The open answer's one point when the passage's first sentence is the best evidence."""
    chunk = Chunk("c1", "a.txt", text, 0, len(text), 1, sentence_spans(text))
    first = chunk.spans()[0]
    point = Evidence(chunk, first.start, first.end, first.text, 0.9, 0.0, np.array([1.0]))
    ((shown, _),) = overview_draft([point], 0.1, points=1, share=0.5).claims
    return shown


def test_a_point_that_someone_responded_carries_the_quote_that_says_how():
    text = first_sentence_as_a_point(REJECTED)
    assert text.endswith('would have been higher," he said.'), text
    assert "shares" not in text  # the quote ends where its speaker is named


def test_a_point_not_followed_by_a_quote_stands_alone():
    text = "Rail services were suspended. Insurers put the cost at forty million pounds."
    assert first_sentence_as_a_point(text) == "Rail services were suspended."


CONFIRMED = (
    'Tessaly Systems confirmed that "a credential of one of our support accounts" had been '
    'misused. "We have disabled all remote support access while we review it," said Fiona Gask, '
    "a spokesperson for the company. Shares in Tessaly fell 14 per cent on Monday."
)


def test_a_quote_by_a_spokesperson_for_the_company_goes_with_the_companys_point():
    text = first_sentence_as_a_point(CONFIRMED)
    assert text.endswith("a spokesperson for the company."), text
    assert "Shares" not in text


QUOTED = (
    '"We are not here to make money out of the club. We are here to make sure there is still '
    'a club in ten years," she said. The club went into administration on Monday.'
)


def test_two_sentences_of_one_quotation_make_one_point_not_two():
    chunk = Chunk("c1", "a.txt", QUOTED, 0, len(QUOTED), 1, sentence_spans(QUOTED))
    points = [
        Evidence(chunk, s.start, s.end, s.text, score, 0.0, np.array(vec), weight=1.0)
        for s, score, vec in zip(chunk.spans(), (0.9, 0.85, 0.8), ([1, 0], [0.6, 0.8], [0, 1]))
    ]
    claims = overview_draft(points, 0.1, points=3, share=0.5, redundancy=0.0).claims
    shown = [text for text, _ in claims]
    assert len(shown) == 2 and shown[0].startswith('"We are not here') and "ten years" in shown[0]
    assert shown[1] == "The club went into administration on Monday."
