"""Which version of a story a question asks for ("in Crossline's revised report", "the wire's
first report"), and the retrieved passages of that version only: an updated story repeats
most of the first one, so without this the first version's figures answer for both."""

import difflib
import re
from typing import Literal

from rag.core.models import Hit
from rag.core.text import content_terms

Version = Literal["earlier", "later"]

_REPORT = r"(?:version|report|story|article|account|piece|dispatch|edition|release)"
_LATER = (
    rf"\b(?:updated|revised|later|latest|newer|newest|second|follow-up)\s+(?:\w+\s+)?{_REPORT}\b"
)
_EARLIER = rf"\b(?:first|original|earlier|earliest|initial|older|previous)\s+(?:\w+\s+)?{_REPORT}\b"
_UPDATE = r"(?:[\w-]+\s+)?update\b"  # "in the update", "according to the wire update"
_IN = r"\b(?i:in|per|from|according to)\s+"
_WHOSE = r"(?:(?i:the|its|their)\s+)?(?:(?:[A-Z][\w-]*\s+)*[\w-]+['’]s?\s+)?"
_CUES = re.compile(
    rf"(?P<later>{_LATER}|{_IN}(?i:the|its|their|[\w-]+['’]s?)\s+{_UPDATE})|(?P<earlier>{_EARLIER})",
    re.IGNORECASE,
)
# "in Pellham Wire's updated story", "per the wire's later version of the story"
_VERSION_PHRASE = re.compile(
    rf",?\s*{_IN}{_WHOSE}(?i:{_LATER}|{_EARLIER}|{_UPDATE})"
    r"(?:\s+(?i:of|on)\s+(?i:the|its|this|that)\s+(?i:story|report))?\s*,?"
)
# "'s first report" of "according to Crossline News's first report": the version alone
_ITS_VERSION = re.compile(
    rf"(?:['’]s?\s+|\s+{_IN}(?i:the|its|their)\s+)(?i:{_LATER}|{_EARLIER}|{_UPDATE})"
)
SAME_HEADLINE = 0.8


def version_asked(question: str) -> Version | None:
    """The version of a story the question asks about, if it says: the last one it names
    ("...according to Harbinger Wire's first report in the updated version?", a follow-up
    read with the turn before it, asks for the later one)."""
    cues = list(_CUES.finditer(question))
    if not cues:
        return None
    return "later" if cues[-1].group("later") else "earlier"


def without_version(question: str) -> str:
    """The question without the phrase that names the version ("What is the latest count in
    Harbinger Wire's updated report?" -> "What is the latest count?"); the reader, like with
    "according to", reads the bare question better."""
    bare = _VERSION_PHRASE.sub(" ", question)
    bare = re.sub(r"\s+([?.!])", r"\1", bare).strip()
    return bare if content_terms(bare) else question


def asked_of_version(question: str, version: str) -> str:
    """The question asked again of another version ("in the update", the subject of "And in
    the update?"): "How much did the club owe according to Crossline News's first report?" ->
    "How much did the club owe according to Crossline News in the update?"."""
    return f"{_ITS_VERSION.sub('', question).rstrip(' ?')} {version.strip(' ?')}?"


def one_story(a: dict, b: dict) -> bool:
    """Are two files (their metadata) versions of one story: published by one outlet, or under
    near-same headlines on different days by outlets not known to differ?"""
    outlets = a.get("outlet"), b.get("outlet")
    if all(outlets):
        return outlets[0] == outlets[1]
    headline = difflib.SequenceMatcher(a=a.get("title", ""), b=b.get("title", "")).ratio()
    dated = version_day(a) and version_day(b) and version_day(a) != version_day(b)
    return headline >= SAME_HEADLINE and bool(dated)


def version_day(meta: dict) -> str:
    """The day a file's version of its story was issued: when it was last updated, if it
    says, else its date ("" when undated)."""
    return str(meta.get("updated") or meta.get("date") or "")


def of_version(hits: list[Hit], version: Version) -> list[Hit]:
    """The hits of the file that is that version (the newest or the oldest) of a story other
    retrieved files tell too ("the wire's later version": the newer of the wire's two reports,
    not another outlet's report). Versions are told apart by date; with no two versions of a
    story retrieved, every hit."""
    meta = {hit.chunk.file: hit.chunk.metadata for hit in hits}
    dated = sorted((version_day(m), f) for f, m in meta.items() if version_day(m))
    chosen: set[str] = set()
    for day, file in dated if version == "earlier" else reversed(dated):
        tells = [f for d, f in dated if d != day and one_story(meta[file], meta[f])]
        if tells and not any(one_story(meta[file], meta[c]) for c in chosen):
            chosen.add(file)  # the first met of its story: its oldest or newest version
    return [hit for hit in hits if hit.chunk.file in chosen] or hits
