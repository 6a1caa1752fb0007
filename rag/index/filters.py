"""Filters on file, outlet and date range: for the store (a Chroma `where`) and in memory."""

import re
from dataclasses import dataclass
from datetime import date

from rag.core.errors import BadInput
from rag.ingest.loaders import parse_date


@dataclass
class Filters:
    """Restrict retrieval to some files, outlets or a date range (ISO dates, inclusive)."""

    files: list[str] | None = None
    outlets: list[str] | None = None
    date_from: str | None = None
    date_to: str | None = None

    def checked(self) -> "Filters":
        """These filters with their dates normalised; BadInput for a bad or reversed range."""
        try:
            since = iso_date(self.date_from) if self.date_from else None
            until = iso_date(self.date_to) if self.date_to else None
        except ValueError as err:
            raise BadInput(str(err)) from None
        if since and until and since > until:
            raise BadInput(f"the date range is reversed: {since} is after {until}")
        return Filters(self.files, self.outlets, since, until)

    def matches(self, meta: dict) -> bool:
        """The same test the store applies, for retrievers that filter in memory."""
        if self.files and meta.get("file") not in self.files:
            return False
        if self.outlets and meta.get("outlet") not in self.outlets:
            return False
        day = int(meta.get("date_int") or 0)
        if self.date_from and day < _day(self.date_from):
            return False
        return not (self.date_to and (day == 0 or day > _day(self.date_to)))

    def where(self) -> dict | None:
        """The same test as a Chroma `where` clause (None when nothing is filtered)."""
        rules: list[dict] = []
        if self.files:
            rules.append({"file": {"$in": list(self.files)}})
        if self.outlets:
            rules.append({"outlet": {"$in": list(self.outlets)}})
        if self.date_from:
            rules.append({"date_int": {"$gte": _day(self.date_from)}})
        if self.date_to:
            rules.append({"date_int": {"$lte": _day(self.date_to)}})
            rules.append({"date_int": {"$gt": 0}})
        if len(rules) > 1:
            return {"$and": rules}
        return rules[0] if rules else None


def iso_date(value: str) -> str:
    """A date as YYYY-MM-DD, from that form, an unpadded one (2024-12-5) or a written one
    (Dec 5 2024); ValueError naming the value otherwise (2024-99-99 included)."""
    text = value.strip()
    if match := re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text):
        try:
            return date(*map(int, match.groups())).isoformat()
        except ValueError:
            raise ValueError(f"{value!r} is not a calendar date") from None
    parsed = parse_date(text) if text else None
    if parsed is None:
        raise ValueError(f"{value!r} is not a date: use YYYY-MM-DD")
    return parsed


def _day(iso: str) -> int:
    return int(iso.replace("-", "")[:8])
