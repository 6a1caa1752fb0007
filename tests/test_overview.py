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
