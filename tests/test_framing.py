"""Word swaps between two sentences that report one claim (rag.analysis.framing), no model."""

import pytest

from rag.analysis.framing import _swaps, labels


def test_a_swap_at_the_start_of_parallel_clauses_is_found():
    assert ("opposition", "rebel") in _swaps(
        "rebel forces claimed to have captured more Syrian soldiers in fierce battles",
        "opposition forces say they captured more Syrian troops in fierce battles",
    )


def test_a_number_at_the_edge_of_a_swap_is_cut_off():
    swaps = _swaps(
        "date 2024-12-05 Terrorists have staged their biggest advance in years",
        "Forces opposed to President Bashar al-Assad have staged their biggest advance in years",
    )
    assert swaps == [("forces opposed to president bashar al-assad", "terrorists")]


def test_counts_and_dates_are_not_framing():
    assert (
        _swaps(
            "The flood left one man dead in the city", "The flood left two people dead in the city"
        )
        == []
    )
    assert (
        _swaps("The river peaked on Tuesday in the city", "The river peaked on Monday in the city")
        == []
    )


def test_a_swap_between_function_words_only_is_not_anchored():
    """ "a retired teacher from" / "a lane near": the runs around it hold no content word."""
    assert (
        _swaps(
            "She was a retired teacher from Allerton Mill", "She was on a lane near Allerton Mill"
        )
        == []
    )


def test_a_weekday_and_a_reporting_verb_at_the_edge_of_a_swap_are_cut_off():
    swaps = _swaps(
        "Syrian state media SANA on Wednesday said militants retreated some 20km from Hama.",
        "According to Syrian state media SANA, insurgent forces have retreated 20 kilometers "
        "from Hama.",
    )
    assert ("insurgent forces", "militants") in swaps
    assert not any("wednesday" in word for pair in swaps for word in pair)


@pytest.mark.parametrize(
    "sentence, found",
    [
        (
            "Damascus refers to the opposition as “terrorists”, and Assad vowed",
            [("opposition", "terrorists")],
        ),
        (
            "Damascus views the insurgents as terrorists, and Assad has vowed",
            [("insurgents", "terrorists")],
        ),
        ("She described the flood as the worst in a generation.", []),
        ("Residents called the council as soon as the water rose.", []),
    ],
)
def test_a_label_put_on_someone_links_the_label_to_the_name(sentence, found):
    assert labels(sentence) == found
