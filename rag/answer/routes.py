"""What kind of question this is, from its form alone (generic English, no topic words):
a factoid gets a short cited answer; an open or summary request a cited multi-source summary
of what is relevant; a comparison request the relevant part of the cross-source view."""

import re
from typing import Literal

Route = Literal["factoid", "open", "summary", "compare"]

_SUMMARY = re.compile(
    r"^\s*(?:please\s+|can you\s+|could you\s+)?(?:summari[sz]e|sum up|give (?:me )?(?:a |an )?"
    r"(?:summary|overview|rundown)|overview of|what is the summary)\b",
    re.IGNORECASE,
)
_COMPARE = re.compile(
    r"\b(?:compare|comparison|contrast)\b|\bhow do (?:the |different )?(?:outlets|sources|articles|"
    r"reports|media|papers|agencies)\b|\b(?:differ|difference|differences|disagree|agree)\b.*\b"
    r"(?:outlets|sources|articles|reports|media)\b",
    re.IGNORECASE,
)
_OPEN = re.compile(
    r"^\s*(?:why\b"
    r"|what (?:is|was|are|were) (?:the |their |its |his |her |(?:[\w-]+\s+){0,3}[\w-]+['’]s\s+)?"
    r"(?:role|situation|impact|"
    r"significance|state|position|reason|reasons|background|context|response|reaction|"
    r"consequences?|effects?|outlook|stance|view|views|story|latest)\b"
    r"|what (?:happened|is happening|is going on|led to|caused)\b"
    r"|describe|explain|tell me about|what do (?:we|the (?:articles|sources)) know)",
    re.IGNORECASE,
)


def route_of(question: str) -> Route:
    """The route for a (standalone) question."""
    if _SUMMARY.search(question):
        return "summary"
    if _COMPARE.search(question):
        return "compare"
    if _OPEN.search(question):
        return "open"
    return "factoid"
