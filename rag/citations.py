"""Parse inline [n] markers of generated text into sentences and passage numbers."""

import re
from dataclasses import dataclass, field

from rag.text import sentence_spans

_MARKER = re.compile(
    r"\[\s*(?:passages?|sources?|doc(?:ument)?s?)?\s*(\d+(?:\s*[,;]\s*\d+)*)\s*\]", re.IGNORECASE
)
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
        sentence = text[start:end]
        numbers = [int(n) for group in _MARKER.findall(sentence) for n in re.split(r"[,;]", group)]
        clean = re.sub(r"\s+([.!?,;:])", r"\1", _MARKER.sub("", sentence)).strip()
        clean = re.sub(r"\s{2,}", " ", clean)
        if not clean or not re.search(r"\w", clean):
            continue
        valid = [n for n in dict.fromkeys(numbers) if 1 <= n <= passage_count]
        invalid = [n for n in dict.fromkeys(numbers) if not 1 <= n <= passage_count]
        parsed.append(ParsedSentence(clean, valid, invalid))
    return parsed
