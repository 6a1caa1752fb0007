import pytest

from rag.answer.citations import parse_cited_text


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Pedersen is the envoy [1].", [("Pedersen is the envoy.", [1], [])]),
        ("Pedersen is the envoy. [2]", [("Pedersen is the envoy.", [2], [])]),
        (
            "A is true [1][3]. B is true [2, 3].",
            [("A is true.", [1, 3], []), ("B is true.", [2, 3], [])],
        ),
        ("A is true [Passage 2].", [("A is true.", [2], [])]),
        ("A is true [7].", [("A is true.", [], [7])]),
        ("A is true [0] [1].", [("A is true.", [1], [0])]),
        ("No citation at all.", [("No citation at all.", [], [])]),
        ("[1] [2]", []),
        ("The war is over [warisover.txt:L3].", [("The war is over.", [], [])]),
        ("Hama fell [2][004_41f9c137d467bf3b.txt:L7].", [("Hama fell.", [2], [])]),
        ("", []),
    ],
)
def test_markers_become_passage_numbers(text, expected):
    parsed = [(p.text, p.passages, p.invalid) for p in parse_cited_text(text, 3)]
    assert parsed == expected
