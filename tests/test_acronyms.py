"""A name asked in full where the articles mostly write its acronym."""

import pytest

from rag.answer.acronyms import with_acronyms


class Corpus:
    """Passages as sets of words: which words stand together, and how often."""

    def __init__(self, *passages: str):
        self.passages = [set(p.lower().split()) for p in passages]

    def together(self, words: list[str]) -> bool:
        wanted = {w.lower() for word in words for w in word.split()}
        return any(wanted <= p for p in self.passages)

    def frequency(self, word: str) -> int:
        return min(sum(w.lower() in p for p in self.passages) for w in word.split())


SYRIA = Corpus(
    "led by hayat tahrir al-sham ( hts ) and the syrian national army ( sna )",
    "hts leader abu mohammed al-golani",
    "hts formerly known as the al-nusra front",
    "hayat tahrir al-sham leads the insurgency",
    "the syrian national army is backed by turkiye",
)


@pytest.mark.parametrize(
    "question, read",
    [
        ("Who is Hayat Tahrir al-Sham's leader?", "Who is HTS's leader?"),
        ("What was Hayat Tahrir al-Sham formerly known as?", "What was HTS formerly known as?"),
        # the articles write the army's name in full more often than "SNA": left as asked
        ("Who backs the Syrian National Army?", "Who backs the Syrian National Army?"),
        ("Who leads HTS?", "Who leads HTS?"),
        ("What did President Bashar al-Assad say?", "What did President Bashar al-Assad say?"),
    ],
)
def test_a_name_is_asked_as_the_articles_mostly_write_it(question, read):
    assert with_acronyms(question, SYRIA) == read


def test_initials_that_never_stand_beside_the_name_are_no_acronym():
    pets = Corpus("port elsby transit strike", "pet owners", "pet shops", "pet rescue")
    assert with_acronyms("Why did Port Elsby Transit strike?", pets) == (
        "Why did Port Elsby Transit strike?"
    )


@pytest.mark.slow
def test_a_follow_up_that_names_the_group_in_full_finds_its_leader(sample_pipeline):
    answer = sample_pipeline.ask("Who is Hayat Tahrir al-Sham's leader?")
    assert "Golani" in answer.answer
    assert answer.question == "Who is Hayat Tahrir al-Sham's leader?"  # shown as asked
