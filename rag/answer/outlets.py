"""How a question names an outlet ("according to the Tribune"), and the question without it."""

import re


def names_outlet(question: str, outlet: str) -> bool:
    """Does the question name this outlet, capitalised as the outlet writes it ("The Times",
    not "how many times"), with or without its leading "The", by its first two words or
    more ("the Meridian Press" for "Meridian Press Agency"), or as "the" and its last word
    ("the Tribune" for "Regional Tribune")?"""
    return _outlet_mention(outlet).search(question) is not None


def _outlet_mention(outlet: str) -> re.Pattern:
    words = re.sub(r"^the\s+", "", outlet.strip(), flags=re.IGNORECASE).split()
    shortest = min(2, len(words))
    names = [re.escape(" ".join(words[:n])) for n in range(len(words), shortest - 1, -1)]
    if len(words) >= 2 and words[-1][:1].isupper():
        names.append(rf"(?<=\b[Tt]he\s){re.escape(words[-1])}")
    either = "|".join(names) or "(?!)"
    return re.compile(rf"(?<![\w-])(?:{either})(?![\w-])")


# "according to the Beacon's report": the possessive and what it owns go with the outlet
_ITS_REPORT = r"(?:['’]s?(?:\s+[\w-]+)?\s+(?i:report|story|article|account|coverage|piece))?"


def without_attribution(question: str, outlets: list[str]) -> str:
    """The question without "according to <outlet>" when that outlet's files are what it is
    answered from: the reader, never trained on such phrases, read "According to the Meridian
    Press Agency, how many drivers are on strike?" with 0.10 confidence where it read the bare
    question with 0.21."""
    for outlet in outlets:
        mention = _outlet_mention(outlet).pattern
        phrase = rf",?\s*\b(?i:according to)\s+(?i:the\s+)?{mention}{_ITS_REPORT}\s*,?\s*"
        question = re.sub(phrase, " ", question).strip()
    question = question[:1].upper() + question[1:]
    return re.sub(r"\s+([?.!])", r"\1", question)
