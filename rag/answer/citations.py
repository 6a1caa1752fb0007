"""Parse inline [n] markers of generated text into sentences and passage numbers."""

import re
from dataclasses import dataclass, field

from rag.core.text import sentence_spans

# At most 9 digits a number: no passage list is that long, and int() refuses 4,300+ digits.
_MARKER = re.compile(
    r"\[\s*(?:passages?|sources?|doc(?:ument)?s?)?\s*(\d{1,9}(?:\s*[,;]\s*\d{1,9})*)\s*\]",
    re.IGNORECASE,
)
# Our own rendered form, "[file.txt:L12]": an LLM that writes one is not citing a passage it was
# given (it may be echoing an article that forged it); it is removed and cites nothing.
_RENDERED_MARKER = re.compile(r"\[[^\[\]\s]{1,200}:L\d{1,9}\]")
# "... end. [1][2] Next" -> "... end [1][2]. Next": markers then belong to the sentence before.
_MARKERS_AFTER_STOP = re.compile(r"([.!?])((?:\s*" + _MARKER.pattern + r")+)", re.IGNORECASE)


@dataclass
class ParsedSentence:
    text: str
    passages: list[int] = field(default_factory=list)
    invalid: list[int] = field(default_factory=list)


def parse_cited_text(text: str, passage_count: int) -> list[ParsedSentence]:
    """Sentences with the passage numbers (1-based) they cite; numbers out of range are invalid."""
    text = _MARKERS_AFTER_STOP.sub(lambda m: f"{m.group(2)}{m.group(1)}", text.strip())
    parsed = []
    for start, end in sentence_spans(text):
        numbers, stripped = _strip_markers(text[start:end])
        clean = re.sub(r"\s+([.!?,;:])", r"\1", stripped).strip()
        clean = re.sub(r"\s{2,}", " ", clean)
        if not clean or not re.search(r"\w", clean):
            continue
        valid = [n for n in dict.fromkeys(numbers) if 1 <= n <= passage_count]
        invalid = [n for n in dict.fromkeys(numbers) if not 1 <= n <= passage_count]
        parsed.append(ParsedSentence(clean, valid, invalid))
    return parsed


def _strip_markers(sentence: str) -> tuple[list[int], str]:
    """The numbers of every marker and the sentence without them.

    Removing "[1]" from "[[1]2]" leaves a new marker "[2]", so strip until none is left.
    """
    numbers: list[int] = []
    sentence = _RENDERED_MARKER.sub("", sentence)
    while groups := _MARKER.findall(sentence):
        numbers += [int(n) for group in groups for n in re.split(r"[,;]", group)]
        sentence = _MARKER.sub("", sentence)
    return numbers, sentence
