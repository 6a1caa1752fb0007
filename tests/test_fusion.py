import pytest

from rag.answer.retrieve import reciprocal_rank_fusion, with_decisive_lead
from rag.index.store import Filters


def test_rrf_rewards_items_both_rankings_agree_on():
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["c", "a", "d"]], k=60)
    assert max(fused, key=fused.get) == "a"
    assert fused["a"] == pytest.approx(1 / 61 + 1 / 62)
    assert fused["d"] == pytest.approx(1 / 63)
    assert set(fused) == {"a", "b", "c", "d"}


def test_rrf_of_one_ranking_keeps_its_order():
    fused = reciprocal_rank_fusion([["x", "y", "z"]])
    assert sorted(fused, key=fused.get, reverse=True) == ["x", "y", "z"]


def test_a_keyword_hit_far_ahead_of_the_next_is_kept_whatever_the_fusion():
    fused = ["a", "b", "c", "d", "e"]  # "e": BM25's first, no dense hit
    lexical = [("e", 2.4), ("a", 0.45), ("b", 0.44)]
    assert with_decisive_lead(fused, lexical, 3) == ["a", "b", "e"]
    close = [("e", 0.8), ("a", 0.45)]  # leads, but not by twice the next: fusion decides
    assert with_decisive_lead(fused, close, 3) == ["a", "b", "c"]
    assert with_decisive_lead(fused, [("b", 3.0), ("a", 1.0)], 3) == ["a", "b", "c"]


@pytest.mark.parametrize(
    "filters, meta, keep",
    [
        (Filters(files=["a.txt"]), {"file": "a.txt"}, True),
        (Filters(files=["a.txt"]), {"file": "b.txt"}, False),
        (Filters(outlets=["AP"]), {"file": "a", "outlet": "AP"}, True),
        (Filters(date_from="2024-12-03"), {"file": "a", "date_int": 20241204}, True),
        (Filters(date_from="2024-12-03"), {"file": "a", "date_int": 20241202}, False),
        (Filters(date_to="2024-12-03"), {"file": "a", "date_int": 0}, False),
    ],
)
def test_in_memory_filters_match_the_store_rules(filters, meta, keep):
    assert filters.matches(meta) is keep
