"""A name in a question, with the acronym the corpus uses for it: "Who is Hayat Tahrir
al-Sham's leader?" finds "HTS leader Abu Mohammed al-Golani" only when it also asks for "HTS"."""

import re
from typing import Protocol

from rag.core.text import STOPWORDS


class Mentions(Protocol):
    def together(self, words: list[str]) -> bool: ...  # one passage holds them all

    def frequency(self, word: str) -> int: ...  # in how many passages it stands


# A run of capitalised words ("Hayat Tahrir al-Sham", "Ministry of Defence"), joined by at most
# one function word; "al-Sham" counts as capitalised after its particle.
_WORD = r"(?:[A-Z][\w’'.-]*|[a-z]{1,3}-[A-Z][\w’'-]*)"
_RUN = re.compile(rf"{_WORD}(?:\s+(?:(?:of|the|and|for)\s+)?{_WORD})+")
_POSSESSIVE = re.compile(r"['’]s$")


def with_acronyms(question: str, corpus: Mentions) -> str:
    """The question with each name of two or more words put as its acronym where the corpus
    mostly writes it so ("Hayat Tahrir al-Sham" -> "HTS": the two side by side in a passage,
    and more passages with the acronym than with the name)."""
    out, last = [], 0
    for m in _RUN.finditer(question):
        name = _POSSESSIVE.sub("", m.group(0))
        words = name.split()
        while words and words[0].lower() in STOPWORDS:  # "What", "The"
            words = words[1:]
        if len(words) < 2:
            continue
        name = " ".join(words)
        found = [a for a in _initials(words) if a.lower() not in question.lower().split()]
        acronym = next((a for a in found if _preferred(a, name, corpus)), None)
        if acronym:
            start = m.start() + m.group(0).find(name)
            out.append(question[last:start] + acronym)
            last = start + len(name)
    return "".join(out) + question[last:]


def _preferred(acronym: str, name: str, corpus: Mentions) -> bool:
    """The corpus writes the name as this acronym: beside it in a passage, and more often."""
    return corpus.together([name, acronym]) and corpus.frequency(acronym) > corpus.frequency(name)


def _initials(words: list[str]) -> list[str]:
    """The acronyms a name may go by: its capitalised words' initials ("HTS"), and with its
    function words too ("MoD" -> "MOD")."""
    capitals = [_capital(w) for w in words if w.lower() not in STOPWORDS]
    every = [_capital(w) if w.lower() not in STOPWORDS else w[0].upper() for w in words]
    return list(dict.fromkeys("".join(c) for c in (capitals, every) if len(c) >= 2))


def _capital(word: str) -> str:
    """A word's initial: its first capital ("al-Sham" -> "S")."""
    return next((ch for ch in word if ch.isupper()), word[0].upper())
