"""The cross-source view as text (CLI and page); the data is rag.analysis.compare's."""

from collections.abc import Callable

from rag.analysis.compare import Comparison, Conflict, VersionChange
from rag.core.models import Citation

FRAMING_TABLES = 12  # the most swapped groups get a table; the rest a line each


def markers(citations: list[Citation]) -> str:
    return "".join(c.marker for c in citations)


def _more(total: int, shown: int | None) -> list[str]:
    if shown is None or total <= shown:
        return []
    return [f"- … and {total - shown} more (all of them: `rag compare --json`, or the page)"]


def render_comparison(
    comparison: Comparison,
    limit: int | None = 8,
    text: Callable[[str], str] = str,
    cite: Callable[[list[Citation]], str] = markers,
) -> str:
    """Markdown: corroborated, single-source, conflicts, framing, near-duplicates; the first
    `limit` claims of each list (None: all), with the count of the rest. Article text goes
    through `text` and citations through `cite` (the page escapes one and links the other)."""
    out = [f"## Reported by two or more files ({len(comparison.corroborated)})"]
    for claim in comparison.corroborated[:limit]:
        out.append(f"- ({claim.count} files) {text(claim.text)} {cite(claim.citations)}")
    out += _more(len(comparison.corroborated), limit)
    out.append(f"\n## Reported by one file only ({len(comparison.single_source)})")
    singles = limit * 2 if limit else None
    for claim in comparison.single_source[:singles]:
        out.append(f"- {text(claim.text)} {cite(claim.citations)}")
    out += _more(len(comparison.single_source), singles)
    out.append(
        f"\n## Names and figures one outlet alone states, in sentences others share "
        f"({len(comparison.details)})"
    )
    for detail in comparison.details[:singles]:
        out.append(
            f"- “{text(detail.detail)}” ({text(detail.outlet)}) in: {text(detail.sentence)} "
            f"{cite([detail.citation])}"
        )
    out += _more(len(comparison.details), singles)
    out.append(f"\n## Conflicting numbers ({len(comparison.conflicts)})")
    for conflict in comparison.conflicts:
        sides = "; ".join(
            f"{text(f)}: {text(figures_stated(conflict, f))}" for f in conflict.values
        )
        out.append(f"- {text(conflict.claim)} — {sides} {cite(conflict.citations)}")
    if not comparison.conflicts:
        out.append("- none found among aligned claims")
    out.append("\n## Framing: words the files use in each other's place")
    groups = list(comparison.framing.items())
    for role, by_file in groups[:FRAMING_TABLES]:
        out.append(f"\n**{text(role)}**\n")
        out.append("| file | terms (count) | first use |\n|---|---|---|")
        for file, terms in by_file.items():
            words = text(", ".join(f"{t.term} ({t.count})" for t in terms))
            out.append(f"| {text(file)} | {words} | {cite([terms[0].citation])} |")
    rarer = groups[FRAMING_TABLES:]  # swaps seen less often: one line each
    if rarer:
        out.append("\nLess often swapped:\n")
    for role, by_file in rarer[:limit]:
        uses = "; ".join(
            f"{text(file)}: {text(', '.join(t.term for t in terms))} {cite([terms[0].citation])}"
            for file, terms in by_file.items()
        )
        out.append(f"- **{text(role)}**: {uses}")
    out += _more(len(rarer), limit)
    if comparison.distinctive:
        out.append("\n## Distinctive words of each file (against the others)")
        for file, terms in comparison.distinctive.items():
            words = text(", ".join(f"{t.term} ({t.count}, z {t.score:.1f})" for t in terms))
            out.append(f"- {text(file)}: {words} {cite([terms[0].citation])}")
    out.append(f"\n## Near-duplicate articles ({len(comparison.duplicates)})")
    for pair in comparison.duplicates:
        derived = ""
        if pair.derived:
            part, whole = pair.derived.split(" from ")
            derived = (
                f"; {part} is largely contained in {whole} (derived from it, or both "
                "from one source)"
            )
        out.append(
            f"- {text(pair.a)} ~ {text(pair.b)}: similarity {pair.similarity:.2f} (share of "
            f"{text(pair.a)} in {text(pair.b)} {pair.a_in_b:.2f}, the reverse {pair.b_in_a:.2f})"
            f"{text(derived)}"
        )
        if pair.changed_words:
            out.append(
                "  changed words: "
                + text("; ".join(f"“{a}” → “{b}”" for a, b in pair.changed_words[:8]))
            )
    out.append(f"\n## Versions of one story ({len(comparison.versions)})")
    for story in comparison.versions:
        kinds = [change.kind for change in story.changes]
        out.append(
            f"- {text(story.older)} → {text(story.newer)}: {kinds.count('added')} added, "
            f"{kinds.count('removed')} removed, {kinds.count('changed')} changed"
        )
        for change in story.changes:
            out.append("  " + _change(change, text, cite))
    return "\n".join(out)


_MARK = {"added": "+", "removed": "−", "changed": "~"}


def _change(
    change: VersionChange,
    text: Callable[[str], str],
    cite: Callable[[list[Citation]], str],
) -> str:
    if not (sides := change_sides(change)):
        return ""
    quoted = " → ".join(text(side.quote) for side in sides)
    return f"{_MARK[change.kind]} {change.kind}{numbers_revised(change)}: {quoted} {cite(sides)}"


def change_sides(change: VersionChange) -> list[Citation]:
    """The sentences a version change shows, older first: the added one, the removed one, or
    both sides of a changed one."""
    return [side for side in (change.before, change.after) if side is not None]


def numbers_revised(change: VersionChange) -> str:
    """ " (numbers 1 → 2)" when a changed sentence's figures were revised, else nothing."""
    if change.numbers_before == change.numbers_after:
        return ""
    old = ", ".join(f"{n:g}" for n in change.numbers_before) or "none"
    new = ", ".join(f"{n:g}" for n in change.numbers_after) or "none"
    return f" (numbers {old} → {new})"


def figures_stated(conflict: Conflict, file: str) -> str:
    """A file's figures in a conflict, as the file writes them where that is known."""
    return ", ".join(conflict.stated.get(file) or [f"{v:g}" for v in conflict.values[file]])
