"""A file's bytes to text: bounded reads, BOMs, declared and detected encodings."""

import codecs
import re
from pathlib import Path


class SkipFile(Exception):
    """This file cannot be indexed; the message says why."""


def read_bytes(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, refusing what is empty, too large or binary."""
    size = path.stat().st_size
    if size > max_bytes:
        raise SkipFile(f"larger than the {max_bytes:,}-byte limit ({size:,} bytes)")
    with path.open("rb") as handle:
        raw = handle.read(max_bytes + 1)  # bounded: the file may grow after the size check
    if len(raw) > max_bytes:
        raise SkipFile(f"larger than the {max_bytes:,}-byte limit (it grew while being read)")
    if not raw.strip():
        raise SkipFile("empty file")
    return raw


_BOMS = [
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]{2,40})""", re.I)


def decode(raw: bytes, html: bool = False) -> str:
    """The file's text, CRLF normalised: by its BOM (UTF-8, UTF-16, UTF-32), else an html
    file's declared charset, else UTF-8, else the encoding charset-normalizer finds; binary
    files (NUL bytes) and undecodable ones are refused."""
    encoding = next((name for bom, name in _BOMS if raw.startswith(bom)), None)
    if encoding is None:
        if b"\x00" in raw[:8192]:
            raise SkipFile("binary file (contains NUL bytes)")
        declared = _META_CHARSET.search(raw[:4096]) if html else None
        encoding = _codec(declared.group(1).decode()) if declared else None
    try:
        text = raw.decode(encoding or "utf-8")
    except (UnicodeDecodeError, LookupError) as err:
        text = _guess(raw, err)
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def _codec(name: str) -> str | None:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _guess(raw: bytes, err: Exception) -> str:
    import charset_normalizer

    best = charset_normalizer.from_bytes(raw).best()
    if best is None:
        where = f" (bad byte at offset {err.start})" if isinstance(err, UnicodeDecodeError) else ""
        raise SkipFile(f"not text in any encoding found{where}") from None
    return str(best)
