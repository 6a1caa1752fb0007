"""Evidence scoring: which sentences of the retrieved passages best answer a question."""

from rag.answer.evidence import _discounted, term_overlap


def test_the_name_every_passage_holds_counts_little_in_the_word_overlap():
    question = "Who is the manager of Kestlewick Athletic?"
    club = "Kestlewick Athletic went into administration on Monday."
    manager = "Gareth Muldoon, the manager, said his players had shown character."
    plain = lambda term: 1.0  # noqa: E731
    assert term_overlap(question, club, plain) > term_overlap(question, manager, plain)
    background = _discounted(plain, {"kestlewick", "athlet"})
    # no longer behind: the club's name, in every passage, tells them apart no more
    assert term_overlap(question, manager, background) >= term_overlap(question, club, background)
