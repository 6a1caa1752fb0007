"""The verifier's entailment model: when it is asked, what it reads, and the shipped model."""

import hashlib
import json

import pytest

from rag.answer.entailment import MODEL_DIR, load_entailment
from rag.answer.evidence import SentenceVectors
from rag.answer.verify import Verifier
from tests.helpers import ROOT, FakeEmbedder
from tests.test_reader import chunk

PASSAGE = [
    "The council met on Monday evening.",
    "It agreed to suspend parking charges in the city centre until the strike ends.",
    "The chamber of commerce said it was pleased.",
]


class RecordingEntailment:
    """Says yes when `supported`, and remembers every (claim, premise) it was asked about."""

    threshold = 0.5

    def __init__(self, supported: bool):
        self.supported = supported
        self.asked: list[tuple[str, str]] = []

    def probability(self, claim: str, premise: str) -> float:
        self.asked.append((claim, premise))
        return 0.9 if self.supported else 0.1


def verifier(model) -> Verifier:  # type: ignore[no-untyped-def]
    return Verifier(SentenceVectors(FakeEmbedder()), 0.55, model)


def test_a_quote_is_supported_without_asking_the_model():
    model = RecordingEntailment(supported=False)
    sentence = verifier(model).verify(PASSAGE[1], [chunk("c1", "a.txt", PASSAGE)])
    assert sentence.supported and model.asked == []


def test_a_claim_failing_a_cheap_check_never_reaches_the_model():
    model = RecordingEntailment(supported=True)
    claim = "It agreed to suspend parking charges in 12 car parks until the strike ends."
    sentence = verifier(model).verify(claim, [chunk("c1", "a.txt", PASSAGE)])
    assert not sentence.supported and "numbers" in sentence.reason and model.asked == []


def test_the_model_reads_the_nearest_sentence_with_its_neighbours_and_decides():
    claim = "On Monday evening the council agreed to suspend parking charges in the city centre."
    for supported in (True, False):
        model = RecordingEntailment(supported)
        sentence = verifier(model).verify(claim, [chunk("c1", "a.txt", PASSAGE)])
        assert sentence.supported is supported
        assert any(PASSAGE[0] in premise and PASSAGE[1] in premise for _, premise in model.asked)
        if not supported:
            assert "do not state it" in sentence.reason


def test_a_reworded_claim_is_left_to_word_coverage_and_similarity():
    model = RecordingEntailment(supported=False)
    claim = "Downtown motorists will be spared fees while drivers walk out, officials decided."
    sentence = verifier(model).verify(claim, [chunk("c1", "a.txt", PASSAGE)])
    assert model.asked == [] and not sentence.supported
    assert "content words" in sentence.reason or "meaning" in sentence.reason


def test_the_shipped_card_matches_its_weights_and_holds_out_the_readers_test_articles():
    card = json.loads((MODEL_DIR / "entailment.json").read_text())
    digest = hashlib.sha256((MODEL_DIR / card["file"]).read_bytes()).hexdigest()
    assert digest == card["sha256"]
    reader = json.loads((ROOT / "rag" / "models" / "reader" / "reader.json").read_text())
    assert card["split"]["test"] == reader["split"]["test"]
    assert not set(card["split"]["train"]) & set(card["split"]["test"])
    assert "CC BY-SA 4.0" in card["data"]["licence"]
    assert card["scores"]["test"]["pairs"] > 1000 and 0 < card["threshold"] < 1


# Written before the model was trained; none of these sentences is in any eval file. The three
# marked xfail are misses of the shipped model, kept so a better model shows up as XPASS.
HARBOUR = (
    "The port authority said on Tuesday that it would reopen the northern terminal next month. "
    "Its director, Maria Keane, said repairs had cost 4 million euros. "
    "Dock workers, who had opposed the closure, welcomed the decision."
)


@pytest.mark.parametrize(
    "claim, supported",
    [
        ("The northern terminal will reopen next month, the port authority said.", True),
        (
            "Maria Keane, the authority's director, said the repairs had cost 4 million euros, "
            "and dock workers welcomed the decision.",
            True,
        ),
        pytest.param(
            "Dock workers said on Tuesday that they would reopen the northern terminal.",
            False,
            marks=pytest.mark.xfail(strict=True, reason="measured: the model misses it"),
        ),
        pytest.param(
            "The port authority said it would close the northern terminal next month.",
            False,
            marks=pytest.mark.xfail(strict=True, reason="measured: the model misses it"),
        ),
        pytest.param(
            "Dock workers, who had supported the closure, welcomed the decision.",
            False,
            marks=pytest.mark.xfail(strict=True, reason="measured: the model misses it"),
        ),
        ("Maria Keane resigned after saying repairs had cost 4 million euros.", False),
        ("The port authority said it would not reopen the northern terminal next month.", False),
    ],
)
def test_the_shipped_model_on_sentences_it_never_saw(claim, supported):
    model = load_entailment()
    assert (model.probability(claim, HARBOUR) >= model.threshold) is supported


def test_a_claim_joining_two_adjacent_sentences_cites_both():
    claim = (
        "The council agreed to suspend parking charges, and the chamber of commerce was pleased."
    )
    passage = chunk("c1", "a.txt", PASSAGE)
    sentence = verifier(RecordingEntailment(supported=True)).verify(claim, [passage])
    [citation] = sentence.citations
    assert sentence.supported
    assert citation.quote == f"{PASSAGE[1]} {PASSAGE[2]}"


def test_a_claim_whose_words_one_sentence_holds_cites_that_sentence_alone():
    claim = "Parking charges in the city centre were suspended until the strike ends."
    sentence = verifier(RecordingEntailment(supported=True)).verify(
        claim, [chunk("c1", "a.txt", PASSAGE)]
    )
    assert [c.quote for c in sentence.citations] == [PASSAGE[1]]
