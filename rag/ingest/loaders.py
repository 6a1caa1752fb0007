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

import yaml
from bs4 import BeautifulSoup, Tag

from rag.core.text import BYLINE_ROLES, OUTLET_NOUNS, sentence_spans
from rag.ingest.decode import SkipFile, decode, read_bytes
from rag.ingest.injection import looks_like_instruction

SUPPORTED_SUFFIXES = {".txt", ".md", ".markdown", ".html", ".htm"}

_BOILERPLATE = re.compile(
    r"^(article ad box|advertisement|ad|share|share this( article)?|skip to (main )?content|"
    r"sign up.*newsletter.*|read more:?.*|related( articles)?:?|world|news|home|menu)$",
    re.IGNORECASE,
)
_MENU_ROLES = {"navigation", "menu", "menubar", "banner", "contentinfo", "search"}
_MENU_WORDS = {"nav", "navbar", "navigation", "menu", "menubar", "breadcrumb", "breadcrumbs"}
_SOURCE_LINE = re.compile(r"^(?:source|via|published by|outlet)\s*:\s*(.{2,80})$", re.IGNORECASE)
_DATE_PREFIX = re.compile(r"^\s*date\s+(\d{4}-\d{2}-\d{2})\s+", re.IGNORECASE)
_AGENCY = re.compile(r"\((AP|AFP|Reuters|dpa|ANI|Xinhua|UPI|PTI|IANS)\)")
# "BEIRUT — (AP) — ", "BEIRUT — ", "Damascus [Syria], December 2: "; a hyphen only with a
# space after it ("A BALACLAVA-clad gang" is the sentence)
_DATELINE = re.compile(
    r"^(?!(?:SYSTEM|ASSISTANT|DEVELOPER)\s*:)"  # a role label, not a place
    r"(?P<place>[A-Z][A-Z .'-]{2,40}|[A-Z][a-z]+ \[[A-Za-z ]+\](?:, [A-Z][a-z]+ \d{1,2})?)"
    r"\s*(?:(?:\([A-Za-z][A-Za-z .&'-]{0,40}\)\s*)?(?:[—–]|-(?=\s))\s*"  # "PORT ELSBY (Meridian) —"
    r"(?:\([A-Za-z][A-Za-z .&'-]{0,40}\)\s*[—–-]\s*)?|:\s+)"  # "BEIRUT — (AP) —"
)
# "By Ann Lee, The Daily Post — Monday 10 March 2025", "By Harbour Times staff | 2025-03-10",
# "By Ann Lee | The Daily Post | 10 March 2025"
_BYLINE_SEP = r"\s*(?:[—–|·•]|\s-\s)\s*"
_BYLINE = re.compile(
    rf"^[*_]*by\s+(?P<who>[^—–|·•]{{2,80}}?){_BYLINE_SEP}"
    rf"(?:(?P<outlet>[^—–|·•*_]{{2,60}}?){_BYLINE_SEP})?(?P<when>[^*_]{{6,40}}?)[*_]*$",
    re.IGNORECASE,
)
_WEEKDAY = re.compile(r"^(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*,?\s+", re.IGNORECASE)
# the outlet in "Ann Lee, The Daily Post" and "the Harbour Times business desk", not "Ann Lee"
_OUTLET_AFTER_COMMA = re.compile(
    r",\s*(?:the\s+)?(?P<outlet>[A-Z][\w'’&.-]*(?:\s+[A-Z][\w'’&.-]*)*)$"
)
_OUTLET_WITH_ROLE = re.compile(
    r"^(?:the\s+)?(?P<outlet>[A-Z][\w'’&.-]*(?:\s+[A-Z][\w'’&.-]*)*)\s+[a-z][a-z ]*$"
)


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
    updated: str | None = None  # when the page says it was last updated, if it does
    sha256: str = ""
    extra: dict = field(default_factory=dict)


def load_document(path: Path, name: str, max_bytes: int) -> Document:
    """Read and clean one file; raise SkipFile with a reason when it cannot be indexed."""
    raw = read_bytes(path, max_bytes)
    text = decode(raw, html=path.suffix.lower() in {".html", ".htm"})
    if "\x00" in text:
        raise SkipFile("binary file (contains NUL characters)")
    if path.suffix.lower() in {".html", ".htm"}:
        doc = _from_html(name, text)
    else:
        doc = _from_plain(name, text, markdown=path.suffix.lower() in {".md", ".markdown"})
    if not doc.segments:
        raise SkipFile("no article text found")
    doc.sha256 = hashlib.sha256(raw).hexdigest()
    return doc


def _from_plain(name: str, text: str, markdown: bool) -> Document:
    meta: dict = {"title": None, "outlet": None, "date": None, "dateline": None, "updated": None}
    hidden = _markdown_hidden(text, meta) if markdown else []
    shown = _blank_out(text, hidden)  # same offsets; what a reader never sees is spaces
    segments: list[tuple[int, int]] = []
    seen_lines: set[str] = set()
    offset = 0
    for line in shown.split("\n"):
        start, end = offset, offset + len(line)
        offset = end + 1
        segment = _content_of_line(
            shown, start, end, meta, seen_lines, markdown, not segments, len(segments) < 3
        )
        if segment:
            segments.append(segment)
    segments = _without_instructions(shown, _subtract(shown, segments, hidden))
    agency = _AGENCY.search(text[:400])
    if agency and not meta["outlet"]:
        meta["outlet"] = agency.group(1)
    return Document(file=name, text=text, segments=segments, **_finish(meta, text, segments))


_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.DOTALL)
_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)


def _markdown_hidden(text: str, meta: dict) -> list[tuple[int, int]]:
    """Spans a rendered markdown file never shows: YAML front matter (its title, date and
    outlet read into meta) and <!-- comments -->."""
    hidden = []
    if front := _FRONT_MATTER.match(text):
        hidden.append(front.span())
        try:
            fields = yaml.safe_load(front.group(1))
        except yaml.YAMLError:
            fields = None
        if isinstance(fields, dict):
            fields = {str(k).lower(): v for k, v in fields.items()}
            meta["title"] = _field(fields, "title", "headline")
            meta["outlet"] = _field(fields, "outlet", "source", "publisher", "site_name", "site")
            meta["date"] = parse_date(_field(fields, "date", "published", "pubdate") or "")
    hidden += [m.span() for m in _COMMENT.finditer(text)]
    return hidden


def _field(fields: dict, *names: str) -> str | None:
    for name in names:
        value = fields.get(name)
        if value not in (None, ""):
            return str(value).strip()
    return None


def _blank_out(text: str, spans: list[tuple[int, int]]) -> str:
    """The text with each span's characters (newlines kept) turned into spaces."""
    if not spans:
        return text
    chars = list(text)
    for start, end in spans:
        for i in range(start, end):
            if chars[i] != "\n":
                chars[i] = " "
    return "".join(chars)


def _subtract(
    text: str, segments: list[tuple[int, int]], hidden: list[tuple[int, int]]
) -> list[tuple[int, int]]:
    """The segments with hidden spans cut out, each piece trimmed of surrounding blanks."""
    for h_start, h_end in hidden:
        pieces = []
        for start, end in segments:
            for a, b in ((start, min(end, h_start)), (max(start, h_end), end)):
                if a < b and text[a:b].strip():
                    lead = len(text[a:b]) - len(text[a:b].lstrip())
                    pieces.append((a + lead, len(text[:b].rstrip())))
        segments = pieces
    return segments


def _content_of_line(  # noqa: PLR0913
    text: str,
    start: int,
    end: int,
    meta: dict,
    seen: set[str],
    markdown: bool,
    at_top: bool,
    near_top: bool = False,
) -> tuple[int, int] | None:
    """The content span of one line, reading any metadata it carries into meta. Near the top, a
    line naming only an author ("By Eleanor Pike") is no content, and one naming a source and a
    date ("Brackenford Gazette, Published 14 October 2026", "*Civic Ledger — 15 October
    2026*") gives the outlet."""
    line = text[start:end]
    stripped = line.strip()
    if not stripped or _BOILERPLATE.match(stripped) or not re.search(r"\w", stripped):
        return None  # a rule of dashes or stars is no content
    if source := _SOURCE_LINE.match(stripped):
        meta["outlet"] = meta["outlet"] or source.group(1).strip()
        return None
    if dates := _dates_of_line(stripped):
        meta["date"] = meta["date"] or dates[0]
        meta["updated"] = meta["updated"] or dates[1]
        return None
    if at_top and not meta["outlet"] and (masthead := _masthead(stripped)):
        meta["outlet"] = masthead
        return None
    if byline := _byline(stripped):
        meta["outlet"] = meta["outlet"] or byline[0]
        meta["date"] = meta["date"] or byline[1]
        return None
    if near_top and (sourced := _source_dated(stripped)):
        meta["outlet"] = meta["outlet"] or sourced[0]
        meta["date"] = meta["date"] or sourced[1]
        return None
    if near_top and (_AUTHOR_LINE.match(stripped) or _is_author_with_role(stripped)):
        return None
    if at_top and _is_furniture(stripped, under_masthead=bool(meta["outlet"])):
        return None
    if near_top and not meta["outlet"] and (section := _SOURCE_SECTION.match(stripped)):
        meta["outlet"] = section.group("outlet")  # "*Device Review — Software & Devices*"
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


def _without_instructions(text: str, segments: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The segments with instruction-like sentences cut out (a segment may split in two)."""
    kept = []
    for start, end in segments:
        cursor = start
        for s, e in sentence_spans(text, start, end):
            if looks_like_instruction(text[s:e]):
                if text[cursor:s].strip():
                    kept.append((cursor, len(text[:s].rstrip())))
                cursor = e
        if text[cursor:end].strip():
            kept.append((cursor + len(text[cursor:end]) - len(text[cursor:end].lstrip()), end))
    return kept


_NAME_WORDS = r"[A-Z][\w'’&.-]*(?:\s+(?:of\s+|and\s+|&\s+)?[A-Z][\w'’&.-]*){0,5}"
_TITLE_CASE = re.compile(rf"^(?:the\s+)?{_NAME_WORDS}$")  # "The Daily Post", not "senior reporter"
_AUTHOR_LINE = re.compile(rf"^[*_]*(?i:by)\s+{_NAME_WORDS}[*_]*$")
_SOURCE_DATED = re.compile(
    rf"^[*_]*(?P<outlet>{_NAME_WORDS})\s*(?:,|[—–|]|\s-\s)\s*"
    r"(?i:(?:first\s+)?(?:published|updated|posted)(?:\s+on)?:?\s+)?(?P<when>[^*_]{6,40}?)[*_]*$"
)


_DATE_LABEL = re.compile(
    r"^(?:(?:(?:first|last)\s+)?(?P<label>published|updated|posted|modified)(?:\s+on)?\s*:?\s*)?",
    re.IGNORECASE,
)
_BESIDE_DATE = re.compile(r"^(?:by\s+\S.*|\d+\s*min(?:ute)?s?\s+read)$", re.IGNORECASE)


def _dates_of_line(line: str) -> tuple[str, str | None] | None:
    """(date, updated date or None) of a line that says only when, and maybe by whom and how
    long a read: "March 5, 2025", "Published: 17/03/2026 06:30", "Published: 17 Mar 2026,
    00:41 | Updated: 17 Mar 2026, 07:15", "**March 17th, 2026** · by Ann Lee · 7 min read".
    None for any other line."""
    published = updated = None
    for piece in re.split(r"\s*[|·•]\s*", line.strip(" *_")):
        piece = piece.strip(" *_")
        if _BESIDE_DATE.match(piece):
            continue
        label = _DATE_LABEL.match(piece)
        assert label is not None  # every part of it is optional
        when = parse_date(_WEEKDAY.sub("", piece[label.end() :]))
        if not when:
            return None
        if (label.group("label") or "").lower() in ("updated", "modified"):
            updated = updated or when
        else:
            published = published or when
    date = published or updated
    return (date, updated) if date else None


_CAPITALS = re.compile(r"^[A-Z][A-Z'’&.-]*(?:\s+[A-Z][A-Z'’&.-]*){1,5}$")


def _masthead(line: str) -> str | None:
    """The outlet a masthead names: a first line in capitals whose last word is what a news
    outlet's name ends with ("THE CALLOWMERE COURIER": "The Callowmere Courier")."""
    if not _CAPITALS.match(line) or line.split()[-1].lower() not in OUTLET_NOUNS:
        return None
    return " ".join(word.capitalize() for word in line.split())


_AUTHOR_WITH_ROLE = re.compile(rf"^{_NAME_WORDS},\s+(?:[\w-]+\s+){{0,3}}(?P<role>[\w-]+)$")


def _is_author_with_role(line: str) -> bool:
    """A line naming only an author and their role ("Hannah Delacourt, Health Reporter")."""
    found = _AUTHOR_WITH_ROLE.match(line.strip("*_ "))
    return found is not None and found.group("role").lower() in BYLINE_ROLES


def _is_furniture(line: str, under_masthead: bool) -> bool:
    """Page furniture above an article's first line: a section path ("HEALTH | Callowmere",
    "News > World"), or under a masthead its slogan of short phrases ("Your city. Your paper.
    Since 1887."; without one, "Rebels took Hama. The envoy spoke." is the article)."""
    parts = [p for p in re.split(r"\s*[|>›»]\s*", line) if p]
    if len(parts) >= 2 and all(len(p.split()) <= 3 and not re.search(r"[.!?,]", p) for p in parts):
        return True
    phrases = [p for p in re.split(r"(?<=[.!])\s+", line) if p]
    return under_masthead and len(phrases) >= 2 and all(len(p.split()) <= 4 for p in phrases)


# "*Device Regulatory Review — Software & Connected Devices*": an outlet and its section
_SOURCE_SECTION = re.compile(
    rf"^[*_]+(?:the\s+)?(?P<outlet>{_NAME_WORDS})\s+[—–|]\s+[^*_]{{2,60}}[*_]+$"
)


def _source_dated(line: str) -> tuple[str, str] | None:
    """(outlet, ISO date) of a line naming only a source and a date ("The Sentinel, Published 15
    October 2026"); None for any other line."""
    found = _SOURCE_DATED.match(line)
    if not found or not (when := parse_date(_WEEKDAY.sub("", found.group("when").strip()))):
        return None
    return found.group("outlet"), when


def _byline(line: str) -> tuple[str | None, str] | None:
    """(outlet or None, ISO date) from a dated byline; None when the line is not one. A bare
    person ("By Ann Lee") names no outlet."""
    match = _BYLINE.match(line)
    if not match or not (when := parse_date(_WEEKDAY.sub("", match.group("when").strip()))):
        return None
    outlet = (match.group("outlet") or "").strip()
    if _TITLE_CASE.match(outlet) and outlet.split()[-1].lower() not in BYLINE_ROLES:
        return outlet, when
    who = match.group("who").strip()
    if _TITLE_CASE.match(who) and who.split()[-1].lower() in OUTLET_NOUNS:
        return who, when  # "By Regional Tribune — Friday 5 September 2025"
    named = _OUTLET_AFTER_COMMA.search(who) or _OUTLET_WITH_ROLE.match(who)
    return (named.group("outlet") if named else None), when


def _looks_like_headline(line: str) -> bool:
    return 3 <= len(line.split()) <= 25 and line[-1] not in '.!?"”’:' and len(line) < 200


# "KILLER GLITCH: Insulin pump blunder puts 50,000 at risk | Daily Clarion": a page title
# that ends with its site's name
_TITLE_SOURCE = re.compile(rf"^(?P<title>.{{10,}}?)\s+(?:\||[-–—])\s+(?P<outlet>{_NAME_WORDS})$")


def _from_html(name: str, html: str) -> Document:
    """The article text of an html page, one paragraph a line, and its metadata.

    Hand-written (BeautifulSoup) rather than trafilatura: measured on this project's html test
    pages, trafilatura 2.3 kept a display:none paragraph (an injection route) and merged the
    headline into the first paragraph, losing the line structure the chunker and the
    headline/dateline rules read; its metadata matched ours (og: tags, article:published_time).
    """
    soup = BeautifulSoup(html, "html.parser")
    meta = {
        "title": _meta(soup, "og:title")
        or (soup.title.get_text(strip=True) if soup.title else None),
        "outlet": _meta(soup, "og:site_name") or _meta(soup, "publisher"),
        "date": parse_date(_meta(soup, "article:published_time") or _time_tag(soup) or ""),
        "dateline": None,
        "updated": parse_date(_meta(soup, "article:modified_time") or ""),
    }
    if not meta["outlet"] and meta["title"] and (titled := _TITLE_SOURCE.match(meta["title"])):
        meta["title"], meta["outlet"] = titled.group("title"), titled.group("outlet")
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
    for tag in soup.find_all(lambda t: _is_menu(t) or _is_hidden(t)):
        if not tag.decomposed:  # an outer one may already have taken it
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


_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)


def _is_hidden(tag: Tag) -> bool:
    """An element the browser does not show: hidden, aria-hidden, display:none, and the like."""
    if tag.has_attr("hidden") or str(tag.get("aria-hidden") or "").lower() == "true":
        return True
    return bool(_HIDDEN_STYLE.search(str(tag.get("style") or "")))


def _is_menu(tag: Tag) -> bool:
    """Navigation that is not in a <nav>: an ARIA role, or a menu-like class or id with no <p>."""
    if str(tag.get("role") or "").lower() in _MENU_ROLES or tag.name == "menu":
        return True
    names = " ".join([*filter(None, tag.get_attribute_list("class")), str(tag.get("id") or "")])
    names = names.lower()
    return bool(_MENU_WORDS & set(re.split(r"[\s_-]+", names))) and tag.find("p") is None


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


# the time after a date: "17 Mar 2026, 00:41", "March 17, 2026 2:05 PM GMT", "... at 6.30pm"
_TIME_AFTER = re.compile(
    r"(?:,|\s+at)?\s+\d{1,2}(?:[:.]\d{2}){1,2}\s*(?:[ap]\.?m\.?)?(?:\s+[A-Z]{2,5})?\s*$",
    re.IGNORECASE,
)


def parse_date(value: str) -> str | None:
    """An ISO date (YYYY-MM-DD) from the common ways articles write one, else None."""
    value = value.strip().replace("Sept ", "Sep ")
    if match := re.match(r"(\d{4}-\d{2}-\d{2})(?:[T\s][\d:.,+\-Z]*(?:\s*[A-Z]{2,5})?)?\s*$", value):
        return match.group(1)
    value = _TIME_AFTER.sub("", re.sub(r"\b(\d{1,2})(?:st|nd|rd|th)\b", r"\1", value))
    if numeric := re.fullmatch(r"(\d{1,2})[/.](\d{1,2})[/.](\d{4})", value):
        first, second, year = (int(n) for n in numeric.groups())
        if first > 12 >= second:  # 17/03/2026; 03/04/2026 could be either, so is no date
            return _iso(year, second, first)
        return _iso(year, first, second) if second > 12 >= first else None
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


def _iso(year: int, month: int, day: int) -> str | None:
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def date_number(iso: str | None) -> int:
    """YYYYMMDD as an int for range filters; 0 when the date is unknown."""
    return int(date.fromisoformat(iso).strftime("%Y%m%d")) if iso else 0
