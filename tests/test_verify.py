import pytest

from rag.answer.verify import check_support

PASSAGE = (
    "Syrian state media SANA said insurgents retreated some 20 kilometers (12 miles) from "
    "government-held Hama, Syria's fourth largest city."
)


@pytest.mark.parametrize(
    "claim, similarity, supported, reason",
    [
        ("Insurgents retreated some 20 kilometers from Hama.", 0.8, True, None),
        ("Insurgents retreated some 30 kilometers from Hama.", 0.8, False, "numbers"),
        ("Insurgents retreated some 20 kilometers from Aleppo.", 0.8, False, "names"),
        ("Hama is a city where bakers sell bread every morning.", 0.8, False, "content words"),
        ("Insurgents retreated some 20 kilometers from Hama.", 0.3, False, "meaning"),
        ("How far did insurgents retreat from Hama?", 0.9, False, "not a statement"),
        ("Insurgents did not retreat from Hama, SANA said.", 0.8, False, "negates"),
        ("Insurgents didn't retreat from government-held Hama.", 0.8, False, "negates"),
        ("Most insurgents retreated some 20 kilometers from Hama.", 0.8, False, "quantity"),
    ],
)
def test_support_decisions(claim, similarity, supported, reason):
    verdict = check_support(claim, [PASSAGE], similarity, threshold=0.55, closest=PASSAGE)
    assert verdict.supported is supported
    if reason:
        assert reason in verdict.reason


def test_a_claim_citing_nothing_is_unsupported():
    verdict = check_support("Anything at all.", [], 1.0, 0.55)
    assert not verdict.supported and "cites no" in verdict.reason


def test_a_negation_the_cited_sentence_shares_is_supported():
    denied = "The ministry said it had not ordered the strike on the market."
    claim = "The ministry said it had not ordered the strike."
    assert check_support(claim, [denied], 0.8, 0.55, closest=denied).supported
