"""A question that names a version of a story ("in the wire's updated report") is answered
from that version: an update repeats most of the first report, figures included."""

import pytest

from rag.answer.routes import route_of
from rag.answer.versions import of_version, version_asked, without_version
from rag.core.models import Chunk, Hit


@pytest.mark.parametrize(
    "question, version, bare",
    [
        (
            "what's the revised number of people admitted to hospital in Pellham Wire's "
            "updated story",
            "later",
            "what's the revised number of people admitted to hospital",
        ),
        (
            "by when is the corrected software expected, per the wire's later version of the story",
            "later",
            "by when is the corrected software expected",
        ),
        (
            "How many objects were stolen according to Harbinger Wire's first report?",
            "earlier",
            "How many objects were stolen?",
        ),
        # a follow-up read with the turn before it asks for the version it names last
        (
            "How much did the club owe according to Crossline News's first report in the update?",
            "later",
            "How much did the club owe?",
        ),
        ("what was the update originally supposed to improve?", None, None),
        ("When was the fault first reported?", None, None),
    ],
)
def test_the_version_a_question_asks_for_and_the_question_without_it(question, version, bare):
    assert version_asked(question) == version
    if version:
        assert without_version(question) == bare


def test_a_question_naming_a_version_is_a_factoid_and_one_asking_what_changed_compares():
    assert (
        route_of("What is the latest cost overrun figure in Northline Wire's updated report?")
        == "factoid"
    )
    assert route_of("what's the revised number of people in the wire's updated story") == "factoid"
    assert route_of("What changed in Pellham Wire's updated story?") == "compare"
    assert route_of("What's the latest on the strike?") == "open"


def hit(file: str, outlet: str, date: str, updated: str = "", title: str = "") -> Hit:
    meta = {"outlet": outlet, "date": date, "updated": updated, "title": title}
    return Hit(Chunk(f"{file}-0", file, "Text.", 0, 5, 1, [(0, 5)], meta), 0.5)


def test_the_later_version_is_the_newest_file_of_a_story_retrieved_twice():
    hits = [
        hit("first.html", "Pellham Wire", "2026-03-16"),
        hit("local.txt", "Callowmere Courier", "2026-03-17"),
        hit("update.html", "Pellham Wire", "2026-03-16", updated="2026-03-17"),
    ]
    assert [h.chunk.file for h in of_version(hits, "later")] == ["update.html"]
    assert [h.chunk.file for h in of_version(hits, "earlier")] == ["first.html"]


def test_outlets_unknown_tell_versions_by_their_headlines():
    hits = [
        hit("a.txt", "", "2025-11-19", title="Soldiers deployed as floods leave one dead"),
        hit("b.txt", "", "2025-11-20", title="Soldiers deployed as floods leave two dead"),
        hit("c.txt", "", "2025-11-20", title="Questions mount over flood warnings"),
    ]
    assert [h.chunk.file for h in of_version(hits, "later")] == ["b.txt"]


def test_with_no_two_versions_retrieved_every_hit_stays():
    hits = [hit("a.txt", "Echo", "2025-11-19"), hit("b.txt", "Beacon", "2025-11-20")]
    assert of_version(hits, "later") == hits


def test_and_in_the_update_asks_the_last_question_again_of_the_update():
    from rag.answer.followup import Turn, standalone

    history = [
        Turn(
            role="user",
            content="How much did the club owe according to Crossline News's first report?",
        ),
        Turn(role="assistant", content="£23.4 million."),
    ]
    assert (
        standalone("And in the update?", history)
        == "How much did the club owe according to Crossline News in the update?"
    )


def test_another_outlet_asked_about_drops_the_version_of_the_first_outlets_story():
    from rag.answer.followup import Turn, standalone

    history = [
        Turn(role="user", content="How many objects were stolen according to Harbinger Wire?"),
        Turn(role="assistant", content="11."),
        Turn(role="user", content="And in the updated version?"),
        Turn(role="assistant", content="13."),
    ]
    outlets = ["Harbinger Wire", "The Daily Flare"]
    assert (
        standalone("And The Daily Flare?", history, outlets)
        == "How many objects were stolen according to The Daily Flare?"
    )
