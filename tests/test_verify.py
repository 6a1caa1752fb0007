import pytest

from rag.answer.verify import (
    cheap_checks,
    check_support,
    misattributed,
    names_elsewhere,
    speaker,
)
from rag.core.models import Chunk
from rag.core.text import sentence_spans

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


HAPPY = "The mayor said she was very happy with the deal the unions signed on Friday."


@pytest.mark.parametrize(
    "claim, passage, reason",
    [
        ("The mayor said she was unhappy with the deal the unions signed.", HAPPY, "'unhappy'"),
        (
            "Israeli airstrikes hit the camp near the border on Monday.",
            "Russian airstrikes hit the camp near the border on Monday. Israeli officials declined "
            "to comment.",
            "'Israeli' where the cited passage says 'Russian'",
        ),
        (
            "Shares fell sharply after the results were published.",
            "Shares rose sharply after the results were published.",
            "'fell'",
        ),
        (  # irregular forms and comparatives are read as their base word (WordNet)
            "Takings had risen sharply as the strike entered its second day.",
            "Takings had fallen sharply as the strike entered its second day.",
            "'risen' where the cited passage says 'fallen'",
        ),
        (
            "It was the worst morning the cafe had had in a year.",
            "It was the best morning the cafe had had in a year.",
            "'worst'",
        ),
        (  # a stopword with an opposite (rag/core/lexicon.json "opposite_function_words")
            "The first trams left the depot shortly before 4 a.m. as the strike ended.",
            "The first trams left the depot shortly after 4 a.m. as the strike ended.",
            "'before' where the cited passage says 'after'",
        ),
    ],
)
def test_an_opposite_word_in_an_otherwise_matching_sentence_is_flagged(claim, passage, reason):
    verdict = check_support(claim, [passage], 0.9, 0.55, closest=passage)
    assert not verdict.supported and reason in verdict.reason


def test_not_happy_states_unhappy():
    passage = "The mayor said she was not happy with the deal the unions signed on Friday."
    claim = "The mayor said she was unhappy with the deal the unions signed."
    assert check_support(claim, [passage], 0.9, 0.55, closest=passage).supported


def test_an_opposite_in_a_sentence_about_something_else_is_not_flagged():
    passage = "The council agreed to suspend parking charges, a move the chamber welcomed."
    claim = "The chamber said it was staying neutral in the dispute over pay."
    assert cheap_checks(claim, [passage], closest=passage) is None


@pytest.mark.parametrize(
    "claim, passage",
    [
        (
            "Engineers and ticket staff are also taking part in the strike.",
            "Engineers and ticket staff, who belong to another union, are not taking part in the "
            "strike.",
        ),
        (
            "Police said there had been serious accidents on the bridge.",
            "Police said there had been no serious accidents on the bridge.",
        ),
        (
            "Police said there had been serious accidents as traffic built up quickly on the "
            "Harbour Road bridge.",
            "Traffic built up quickly on the Harbour Road bridge, where queues stretched for six "
            "kilometres. Police said there had been no serious accidents.",
        ),
    ],
)
def test_a_claim_that_drops_the_cited_sentences_negation_is_flagged(claim, passage):
    verdict = check_support(claim, [passage], 0.9, 0.55, closest=passage)
    assert not verdict.supported and "negates" in verdict.reason


def test_a_contrast_is_no_negation_to_keep():
    passage = "He hoped a deal could be reached within weeks, not months."
    claim = "He hoped a deal could be reached within weeks rather than months."
    assert cheap_checks(claim, [passage], closest=passage) is None


def _spans(text: str):
    bounds = sentence_spans(text)
    return Chunk("c1", "a.txt", text, 0, len(text), 1, bounds).spans()


STATEMENTS = (
    "The mayor, Ruth Bellamy, opened the new depot on Monday. "
    "Trams ran every ten minutes on the new line. Ticket sales were up by a fifth. "
    "Martin Haldane, the chief executive, said he was disappointed that the strike had gone "
    "ahead. He said talks would resume. The guild's secretary declined to comment."
)


def test_a_name_swapped_in_from_another_sentence_is_found():
    claim = "Ruth Bellamy said she was disappointed that the strike had gone ahead."
    assert names_elsewhere(claim, _spans(STATEMENTS)) == ["bellamy"]


def test_names_beside_the_sentence_that_states_the_rest_are_its_own():
    claim = "Martin Haldane said talks would resume."
    assert names_elsewhere(claim, _spans(STATEMENTS)) == []


def test_a_part_of_a_sentence_that_leaves_out_its_negation_is_flagged():
    passage = "The minister did not say the crisis was over, officials said."
    verdict = check_support("The crisis was over.", [passage], 0.9, 0.55, closest=passage)
    assert not verdict.supported and "negates" in verdict.reason


HOSPITAL = (
    "At Elsby General Hospital, managers laid on 14 minibuses to bring night-shift staff in. "
    "Day-shift nurses said the journey took twice as long as usual."
)


def test_an_event_joined_to_a_reported_one_is_flagged(sample_pipeline):
    claim = (
        "At Elsby General Hospital, managers laid on 14 minibuses for staff and postponed "
        "non-urgent operations."
    )
    sentence = sample_pipeline.answers.verifier.verify(claim, [_chunk(HOSPITAL)])
    assert not sentence.supported
    assert "postponed non-urgent operations" in sentence.reason


def test_two_reported_statements_joined_are_kept(sample_pipeline):
    claim = (
        "Managers at Elsby General Hospital laid on 14 minibuses for night-shift staff, and "
        "day-shift nurses said the journey took twice as long."
    )
    assert sample_pipeline.answers.verifier.verify(claim, [_chunk(HOSPITAL)]).supported


def _chunk(text: str) -> Chunk:
    return Chunk("h1", "hospital.txt", text, 0, len(text), 1, sentence_spans(text))


@pytest.mark.parametrize(
    "sentence, said_by",
    [
        (
            "Martin Haldane, the chief executive, told the Herald that talks would resume.",
            "Martin Haldane",
        ),
        ("The mayor, Ruth Bellamy, said on Tuesday that both sides had agreed.", "Ruth Bellamy"),
        ("Footfall fell by half, said Lionel Fairweather.", "Lionel Fairweather"),
        ("According to chamber president Lionel Fairweather, footfall fell.", "Lionel Fairweather"),
        ("He said talks would resume.", None),
        ("The authority said it would hire agency drivers.", None),
    ],
)
def test_the_speaker_of_a_statement_is_the_name_at_its_speech_verb(sentence, said_by):
    assert speaker(sentence) == said_by


def test_a_statement_put_in_another_speakers_mouth_is_flagged():
    claim = "Nadia Okafor told the Herald that a settlement would cost around 11 million."
    spans = _spans(QUOTES)
    assert misattributed(claim, spans) == ("Nadia Okafor", "Martin Haldane")


def test_a_statement_its_own_speaker_made_is_not_misattributed():
    claim = "Haldane told the Herald that a settlement would cost around 11 million."
    assert misattributed(claim, _spans(QUOTES)) is None


def test_an_attribution_covers_only_its_own_statement():
    claim = (
        "Boats rescued 40 people from upper floors overnight, and Nadia Okafor said the union "
        "would attend the talks."
    )
    assert misattributed(claim, _spans(QUOTES)) is None


QUOTES = (
    "Martin Haldane, the chief executive, told the Herald that a settlement would cost around "
    "11 million. Boats rescued 40 people from upper floors overnight, Tom Reddy said. "
    "Nadia Okafor said the union would attend the talks."
)


BRIDGE = (
    "Traffic built up quickly on the Harbour Road bridge, where queues stretched for about six "
    "kilometres during the morning rush."
)
NO_ACCIDENTS = "Police said there had been no serious accidents."


def test_a_negation_another_cited_sentence_states_is_no_contradiction():
    """A claim joining the traffic sentence with the next one keeps its "no serious
    accidents": nearest in meaning is the traffic sentence, but a cited sentence negates the
    same word."""
    claim = (
        "Traffic on the Harbour Road bridge built up quickly, with queues of about six "
        "kilometres, though police said there had been no serious accidents."
    )
    assert cheap_checks(claim, [f"{BRIDGE} {NO_ACCIDENTS}"], BRIDGE) is None


def test_a_negation_no_cited_sentence_states_is_a_contradiction():
    claim = "Traffic on the Harbour Road bridge did not build up during the morning rush."
    verdict = cheap_checks(claim, [f"{BRIDGE} {NO_ACCIDENTS}"], BRIDGE)
    assert verdict is not None and verdict.reason == "negates what the cited passage states"
