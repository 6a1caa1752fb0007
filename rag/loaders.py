"""Read one article file: decode it, reduce html to text, find its content and metadata.

The text kept is the file's own text (html: its extracted article text), so every offset a
citation carries points into what the user can open. Boilerplate and metadata lines are not
removed from the text; they are left out of the content segments that get chunked.
"""

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from bs4 import BeautifulSoup

SUPPORTED_SUFFIXES = {".txt", ".md", ".markdown", ".html", ".htm"}

_BOILERPLATE = re.compile(
    r"^(article ad box|advertisement|ad|share|share this( article)?|skip to (main )?content|"
    r"sign up.*newsletter.*|read more:?.*|related( articles)?:?|world|news|home|menu)$",
    re.IGNORECASE,
)
_SOURCE_LINE = re.compile(r"^(?:source|via|published by|outlet)\s*:\s*(.{2,80})$", re.IGNORECASE)
_DATE_PREFIX = re.compile(r"^\s*date\s+(\d{4}-\d{2}-\d{2})\s+", re.IGNORECASE)
_AGENCY = re.compile(r"\((AP|AFP|Reuters|dpa|ANI|Xinhua|UPI|PTI|IANS)\)")
# "BEIRUT — (AP) — ", "BEIRUT — ", "Damascus [Syria], December 2: "
_DATELINE = re.compile(
    r"^(?P<place>[A-Z][A-Z .'-]{2,40}|[A-Z][a-z]+ \[[A-Za-z ]+\](?:, [A-Z][a-z]+ \d{1,2})?)"
    r"\s*(?:[—–-]\s*(?:\((?:[A-Za-z]+)\)\s*[—–-]\s*)?|:\s+)"
)
_MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec"
_DATE_LINE = re.compile(
    rf"^(?:(?:{_MONTHS})[a-z]*\.? \d{{1,2}},? \d{{4}}|\d{{1,2}} (?:{_MONTHS})[a-z]* \d{{4}}|"
    r"\d{4}-\d{2}-\d{2})(?:\s+\d{1,2}:\d{2}.*)?$",
    re.IGNORECASE,
)


class SkipFile(Exception):
    """This file cannot be indexed; the message says why."""


@dataclass
class Document:
    """One article: its text, the spans of it worth indexing, and what we know about it."""

    file: str
    text: str
    segments: list[tuple[int, int]]
    title: str
    outlet: str | None = None
    date: str | None = None
    dateline: str | None = None
    sha256: str = ""
    extra: dict = field(default_factory=dict)


def load_document(path: Path, name: str, max_bytes: int) -> Document:
    """Read and clean one file; raise SkipFile with a reason when it cannot be indexed."""
    raw = read_bytes(path, max_bytes)
    text = decode(raw)
    if path.suffix.lower() in {".html", ".htm"}:
        doc = _from_html(name, text)
    else:
        doc = _from_plain(name, text, markdown=path.suffix.lower() in {".md", ".markdown"})
    if not doc.segments:
        raise SkipFile("no article text found")
    doc.sha256 = hashlib.sha256(raw).hexdigest()
    return doc


def read_bytes(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, refusing what is empty, too large or binary."""
    size = path.stat().st_size
    if size > max_bytes:
        raise SkipFile(f"larger than the {max_bytes:,}-byte limit ({size:,} bytes)")
    raw = path.read_bytes()
    if not raw.strip():
        raise SkipFile("empty file")
    if b"\x00" in raw[:8192]:
        raise SkipFile("binary file (contains NUL bytes)")
    return raw


def decode(raw: bytes) -> str:
    """UTF-8 text (a BOM is dropped, CRLF normalised); anything else is refused."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise SkipFile(f"not UTF-8 text (bad byte at offset {err.start})") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _from_plain(name: str, text: str, markdown: bool) -> Document:
    meta: dict = {"title": None, "outlet": None, "date": None, "dateline": None}
    segments: list[tuple[int, int]] = []
    seen_lines: set[str] = set()
    offset = 0
    for line in text.split("\n"):
        start, end = offset, offset + len(line)
        offset = end + 1
        segment = _content_of_line(text, start, end, meta, seen_lines, markdown, not segments)
        if segment:
            segments.append(segment)
    agency = _AGENCY.search(text[:400])
    if agency and not meta["outlet"]:
        meta["outlet"] = agency.group(1)
    return Document(file=name, text=text, segments=segments, **_finish(meta, text, segments))


def _content_of_line(
    text: str, start: int, end: int, meta: dict, seen: set[str], markdown: bool, at_top: bool
) -> tuple[int, int] | None:
    """The content span of one line, reading any metadata it carries into meta."""
    line = text[start:end]
    stripped = line.strip()
    if not stripped or _BOILERPLATE.match(stripped):
        return None
    if source := _SOURCE_LINE.match(stripped):
        meta["outlet"] = meta["outlet"] or source.group(1).strip()
        return None
    if _DATE_LINE.match(stripped):
        meta["date"] = meta["date"] or parse_date(stripped)
        return None
    if stripped in seen:  # a repeated headline
        return None
    seen.add(stripped)
    if prefix := _DATE_PREFIX.match(line):
        meta["date"] = meta["date"] or parse_date(prefix.group(1))
        start += prefix.end()
        line = text[start:end]
    if markdown and (heading := re.match(r"^\s*#{1,6}\s+", line)):
        meta["title"] = meta["title"] or line[heading.end() :].strip()
        start += heading.end()
    elif at_top and not meta["title"] and _looks_like_headline(stripped):
        meta["title"] = stripped
    if dateline := _DATELINE.match(text[start:end]):
        meta["dateline"] = meta["dateline"] or dateline.group("place").strip()
        start += dateline.end()
    return (start, end) if text[start:end].strip() else None


def _looks_like_headline(line: str) -> bool:
    return 3 <= len(line.split()) <= 25 and line[-1] not in '.!?"”’:' and len(line) < 200


def _from_html(name: str, html: str) -> Document:
    soup = BeautifulSoup(html, "html.parser")
    meta = {
        "title": _meta(soup, "og:title")
        or (soup.title.get_text(strip=True) if soup.title else None),
        "outlet": _meta(soup, "og:site_name") or _meta(soup, "publisher"),
        "date": parse_date(_meta(soup, "article:published_time") or _time_tag(soup) or ""),
        "dateline": None,
    }
    for tag in soup(
        [
            "script",
            "style",
            "noscript",
            "nav",
            "header",
            "footer",
            "aside",
            "form",
            "iframe",
            "svg",
            "button",
            "template",
        ]
    ):
        tag.decompose()
    body = soup.find("article") or soup.find("main") or soup.body or soup
    if not meta["title"] and (h1 := body.find("h1")):
        meta["title"] = h1.get_text(" ", strip=True)
    blocks = [b.get_text(" ", strip=True) for b in body.find_all(["h1", "h2", "h3", "p", "li"])]
    text = "\n\n".join(b for b in blocks if b) or body.get_text("\n", strip=True)
    plain = _from_plain(name, text, markdown=False)
    for key, value in meta.items():
        if value:
            setattr(plain, key, value)
    return plain


def _meta(soup: BeautifulSoup, key: str) -> str | None:
    tag = soup.find("meta", attrs={"property": key}) or soup.find("meta", attrs={"name": key})
    content = tag.get("content") if tag else None
    return str(content).strip() if content else None


def _time_tag(soup: BeautifulSoup) -> str | None:
    tag = soup.find("time")
    return str(tag.get("datetime") or tag.get_text(strip=True)) if tag else None


def _finish(meta: dict, text: str, segments: list[tuple[int, int]]) -> dict:
    if not meta["title"] and segments:
        first = text[segments[0][0] : segments[0][1]].strip()
        meta["title"] = first if len(first) <= 90 else first[:87].rsplit(" ", 1)[0] + "…"
    return meta


def parse_date(value: str) -> str | None:
    """An ISO date (YYYY-MM-DD) from the common ways articles write one, else None."""
    value = value.strip().replace("Sept ", "Sep ")
    if match := re.match(r"(\d{4}-\d{2}-\d{2})", value):
        return match.group(1)
    for fmt in (
        "%b %d, %Y",
        "%B %d, %Y",
        "%b %d %Y",
        "%B %d %Y",
        "%d %B %Y",
        "%d %b %Y",
        "%b. %d, %Y",
    ):
        try:
            return datetime.strptime(value, fmt).date().isoformat()
        except ValueError:
            continue
    return None


def date_number(iso: str | None) -> int:
    """YYYYMMDD as an int for range filters; 0 when the date is unknown."""
    return int(date.fromisoformat(iso).strftime("%Y%m%d")) if iso else 0
