"""What the page shows, as escaped HTML: answers with source cards, passages, the start panel.

Article and model text is escaped here, always; nothing is rendered as Markdown.
"""

import html
import itertools
import re
from collections import Counter
from collections.abc import Callable
from urllib.parse import urlencode

from rag.analysis.compare import (
    Comparison,
    Conflict,
    DuplicatePair,
    StoryVersions,
    VersionChange,
)
from rag.analysis.compare_render import change_sides, figures_stated, numbers_revised
from rag.answer.evidence import name_phrases
from rag.answer.followup import Turn
from rag.core.errors import BadInput, LLMUnavailable
from rag.core.models import Answer, AnswerSentence, Citation, DocumentInfo, Source
from rag.core.text import line_of
from rag.pipeline import Pipeline

CONTEXT_CHARS = 500
_CARDS = re.compile(
    r'<div class="source-cards">(?:<div class="source-card">.*?</div>)*</div>', re.S
)
_READ_AS = re.compile(r"<em>Read as: .*?</em>", re.S)


def chip_label(n: int, citation: Citation, title: str | None) -> str:
    """A citation chip: number, a readable title when known, then file and line."""
    short = _short(title, 48) + " — " if title else ""
    return f"[{n}] {short}{citation.file}:L{citation.line}"


def source_cards(sources: list[Source]) -> str:
    """One line per cited file: title, outlet, date (undated files say so)."""
    cards = [
        f'<div class="source-card"><b>{html.escape(_short(s.title or s.file, 90))}</b> · '
        f"{html.escape(s.outlet or 'outlet not stated')} · {html.escape(s.date or 'undated')}"
        "</div>"
        for s in sources
    ]
    return '<div class="source-cards">' + "".join(cards) + "</div>"


def start_panel(docs: list[DocumentInfo]) -> str:
    """What is indexed, and questions to start with, drawn from the articles' own titles."""
    if not docs:
        return as_text("Nothing is indexed yet: add articles in the Sources tab.")
    dated = sorted((d for d in docs if d.date), key=lambda d: d.date or "")
    span = f", {dated[0].date} to {dated[-1].date}" if dated else ""
    undated = sum(1 for d in docs if not d.date)
    note = f"; {undated} undated (a date filter leaves them out)" if undated else ""
    lines = [f"{len(docs)} articles indexed{span}{note}."]
    lines += [
        f"• {_short(d.title or d.file, 90)} ({d.outlet or 'outlet not stated'})" for d in docs[:8]
    ]
    if len(docs) > 8:
        lines.append(f"… and {len(docs) - 8} more (Sources tab)")
    lines += ["", "Try: " + " · ".join(example_questions(docs))]
    return as_text("\n".join(lines))


def example_questions(docs: list[DocumentInfo]) -> list[str]:
    """Three starting questions from the corpus itself: its most named subject and its newest
    article (no topic is written into the code)."""
    names = Counter(n for d in docs for n in name_phrases(d.title or ""))
    words = Counter(w for d in docs for w in re.findall(r"\b[A-Z][a-z]{3,}\b", (d.title or "")[1:]))
    subject = (names.most_common(1) or words.most_common(1) or [("the news", 0)])[0][0]
    newest = max(docs, key=lambda d: d.date or "")
    return [
        f"What do the articles say about {subject}?",
        f"Compare how the outlets report {subject}",
        f"Summarise {_short(newest.title or newest.file, 60)}",
    ]


def _short(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 1].rsplit(" ", 1)[0] + "…"


def conversation_of(history: list) -> list[Turn]:
    """The chat so far as plain-text turns (the page shows escaped HTML)."""
    turns = []
    for message in history:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):  # Gradio's normalised form: [{"type": "text", ...}]
            content = " ".join(str(part.get("text", "")) for part in content)
        if isinstance(content, str) and message.get("role") in ("user", "assistant"):
            content = _CARDS.sub(" ", _READ_AS.sub(" ", content))  # page furniture, not answer
            plain = html.unescape(re.sub(r"<[^>]+>", " ", content))
            turns.append(Turn(message["role"], " ".join(plain.split())))
    return turns


def as_text(text: str) -> str:
    """Any text as HTML that shows it verbatim: escaped, whitespace kept."""
    return f'<div class="plain">{html.escape(text)}</div>'


def error_text(err: Exception) -> str:
    if isinstance(err, LLMUnavailable):
        found = ", ".join(s.file for s in err.sources) or "none"
        return f"⚠ {html.escape(str(err))} (retrieved sources: {html.escape(found)})"
    return f"⚠ {html.escape(str(err))}"


def render_markdown(answer: Answer) -> str:
    """The answer for the chat: source cards (title, outlet, date), then escaped sentences,
    each followed by its numbered citation markers."""
    if answer.abstained:
        note = f" ({answer.note})" if answer.note else ""
        return html.escape(answer.answer + note)
    cards = [source_cards(answer.sources)] if answer.sources else []
    return "\n\n".join(cards + [render_sentences(answer.sentences)])


def render_sentences(sentences: list[AnswerSentence]) -> str:
    """Verified sentences, escaped, each with its numbered citation markers; the ones the
    verifier dropped struck through with the reason."""
    parts, n = [], 0
    for sentence in sentences:
        if not sentence.supported:
            parts.append(
                f'<span class="unsupported" title="{html.escape(sentence.reason or "")}">'
                f"{html.escape(sentence.text)}</span> (not supported, dropped)"
            )
            continue
        marks = []
        for citation in sentence.citations:
            n += 1
            marks.append(citation_link(n, citation))
        parts.append(f"{html.escape(sentence.text)} {' '.join(marks)}")
    return "\n\n".join(parts)


def citation_link(n: int, citation: Citation) -> str:
    """An inline marker that opens the passage (works in every answer, old ones included);
    hovering shows the quote."""
    query = urlencode({"file": citation.file, "start": citation.start, "end": citation.end})
    return (
        f'<a class="cite" href="/passage?{html.escape(query)}" target="_blank" '
        f'title="{html.escape(_short(citation.quote, 240))}">'
        f"[{n}: {html.escape(citation.file)}:L{citation.line}]</a>"
    )


def citation_links() -> Callable[[list[Citation]], str]:
    """Citations as inline links, numbered on from one call to the next."""
    numbers = itertools.count(1)
    return lambda citations: " ".join(citation_link(next(numbers), c) for c in citations)


def passage_page(pipeline: Pipeline, file: str, start: int, end: int, css: str) -> str:
    """A whole page with one passage highlighted; BadInput for a span outside the file."""
    text, _ = pipeline.document(file)
    if not 0 <= start < end <= len(text):
        raise BadInput(f"bad span {start}-{end}: the file has {len(text)} characters")
    cited = Citation(
        file=file,
        chunk_id="",
        start=start,
        end=end,
        line=line_of(text, start),
        quote=text[start:end],
        score=0.0,
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(file)}</title>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<style>body{{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;"
        f"padding:0 1rem}}{css}</style></head><body>{render_passage(pipeline, cited)}"
        "<script>document.querySelector('mark').scrollIntoView({block:'center'})</script>"
        "</body></html>"
    )


def render_passage(pipeline: Pipeline, citation: Citation) -> str:
    """The cited span highlighted in its context, with the file's name, outlet and date."""
    text, info = pipeline.document(citation.file)
    lo = max(0, text.rfind("\n", 0, max(0, citation.start - CONTEXT_CHARS)) + 1)
    hi = text.find("\n", min(len(text), citation.end + CONTEXT_CHARS))
    hi = len(text) if hi < 0 else hi
    meta = " · ".join(
        html.escape(x)
        for x in (info.file, info.outlet or "outlet not stated", info.date or "undated")
    )
    body = (
        html.escape(text[lo : citation.start])
        + "<mark>"
        + html.escape(text[citation.start : citation.end])
        + "</mark>"
        + html.escape(text[citation.end : hi])
    )
    return (
        f'<div class="passage-meta">{meta} — line {citation.line}</div>'
        f'<div class="passage">{body}</div>'
    )


SHOWN_FIRST = 8  # items of a list shown before "show all"


def comparison_html(comparison: Comparison, cite: Callable[[list[Citation]], str]) -> str:
    """The cross-source view as HTML: each list's first items, then the rest behind "Show N
    more"; figures and framing as tables; article text escaped, citations as links."""
    e = html.escape
    corroborated = [
        f'<span class="count">{c.count} files</span> {e(c.text)} {cite(c.citations)}'
        for c in comparison.corroborated
    ]
    singles = [f"{e(c.text)} {cite(c.citations)}" for c in comparison.single_source]
    details = [
        f'“{e(d.detail)}” <span class="outlet">({e(d.outlet)})</span> in: {e(d.sentence)} '
        f"{cite([d.citation])}"
        for d in comparison.details
    ]
    conflicts = [_conflict_html(c, cite) for c in comparison.conflicts]
    sections = [
        _section("Reported by two or more files", corroborated),
        _section("Reported by one file only", singles),
        _section("Names and figures one outlet alone states, in sentences others share", details),
        _section("Conflicting numbers", conflicts, "none found among aligned claims"),
        _framing_html(comparison, cite),
        _section(
            "Distinctive words of each file (against the others)",
            [
                f"{e(file)}: "
                + e(", ".join(f"{t.term} ({t.count}, z {t.score:.1f})" for t in terms))
                + f" {cite([terms[0].citation])}"
                for file, terms in comparison.distinctive.items()
            ],
        ),
        _section("Near-duplicate articles", [_duplicate_html(d) for d in comparison.duplicates]),
        _section("Versions of one story", [_versions_html(v, cite) for v in comparison.versions]),
    ]
    return '<div class="comparison">' + "".join(sections) + "</div>"


def _section(title: str, items: list[str], empty: str = "none") -> str:
    head = f'<h3>{html.escape(title)} <span class="count">({len(items)})</span></h3>'
    if not items:
        return f'<section>{head}<p class="none">{html.escape(empty)}</p></section>'
    first = "".join(f"<li>{item}</li>" for item in items[:SHOWN_FIRST])
    rest = items[SHOWN_FIRST:]
    more = (
        f"<details><summary>Show {len(rest)} more</summary><ul>"
        + "".join(f"<li>{item}</li>" for item in rest)
        + "</ul></details>"
        if rest
        else ""
    )
    return f"<section>{head}<ul>{first}</ul>{more}</section>"


def _conflict_html(conflict: Conflict, cite: Callable[[list[Citation]], str]) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(file)}</td>"
        f"<td>{html.escape(figures_stated(conflict, file))}</td></tr>"
        for file in conflict.values
    )
    return (
        f"{html.escape(conflict.claim)} {cite(conflict.citations)}"
        f'<table class="figures"><tr><th>file</th><th>figure</th></tr>{rows}</table>'
    )


def _framing_html(comparison: Comparison, cite: Callable[[list[Citation]], str]) -> str:
    groups = []
    for role, by_file in comparison.framing.items():
        rows = "".join(
            f"<tr><td>{html.escape(file)}</td><td>"
            + html.escape(", ".join(f"{t.term} ({t.count})" for t in terms))
            + f"</td><td>{cite([terms[0].citation])}</td></tr>"
            for file, terms in by_file.items()
        )
        groups.append(
            f'<b>{html.escape(role)}</b><table class="framing"><tr><th>file</th>'
            f"<th>terms (count)</th><th>first use</th></tr>{rows}</table>"
        )
    return _section("Framing: words the files use in each other's place", groups)


def _duplicate_html(pair: DuplicatePair) -> str:
    e = html.escape
    derived = ""
    if pair.derived:
        part, whole = pair.derived.split(" from ")
        derived = f"; {e(part)} is largely contained in {e(whole)}"
    changed = "; ".join(f"“{e(a)}” → “{e(b)}”" for a, b in pair.changed_words[:8])
    return f"{e(pair.a)} ~ {e(pair.b)}: similarity {pair.similarity:.2f}{derived}" + (
        f'<div class="changed">changed words: {changed}</div>' if changed else ""
    )


def _versions_html(story: StoryVersions, cite: Callable[[list[Citation]], str]) -> str:
    kinds = [change.kind for change in story.changes]
    changes = "".join(
        f'<li class="{change.kind}">{_change_html(change, cite)}</li>' for change in story.changes
    )
    return (
        f"{html.escape(story.older)} → {html.escape(story.newer)}: {kinds.count('added')} "
        f"added, {kinds.count('removed')} removed, {kinds.count('changed')} changed"
        f'<ul class="changes">{changes}</ul>'
    )


def _change_html(change: VersionChange, cite: Callable[[list[Citation]], str]) -> str:
    if not (sides := change_sides(change)):
        return ""
    quoted = " → ".join(html.escape(side.quote) for side in sides)
    return f"<b>{change.kind}</b>{numbers_revised(change)}: {quoted} {cite(sides)}"
