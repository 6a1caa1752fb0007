"""Prompts are files: prompts/<name>.md with a version in front-matter, rendered strictly."""

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from rag.core.errors import BadInput

_VARIABLE = re.compile(r"\{\{\s*(\w+)\s*\}\}")
_SECTION = re.compile(r"^### (system|user)\s*$", re.MULTILINE)


class MissingVariables(KeyError):
    """A prompt was rendered without a value its template needs."""


@dataclass
class Prompt:
    name: str
    version: str
    sections: dict[str, str]

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    def render(self, **values: str) -> list[dict[str, str]]:
        """Chat messages with every {{variable}} filled; a missing one raises."""
        needed = {v for text in self.sections.values() for v in _VARIABLE.findall(text)}
        missing = needed - values.keys()
        if missing:
            raise MissingVariables(f"prompt {self.ref} needs: {', '.join(sorted(missing))}")
        return [
            {"role": role, "content": _VARIABLE.sub(lambda m: str(values[m.group(1)]), text)}
            for role, text in self.sections.items()
        ]


def load_prompt(directory: Path, name: str) -> Prompt:
    """Load prompts/<name>.md; name may carry a version ("answer@2" -> answer@2.md or answer.md)."""
    base, _, version = name.partition("@")
    candidates = [directory / f"{base}@{version}.md"] if version else []
    candidates.append(directory / f"{base}.md")
    for path in candidates:
        if path.exists():
            prompt = parse_prompt(path.read_text(encoding="utf-8"), base)
            if version and prompt.version != version:
                continue
            return prompt
    raise BadInput(f"no prompt {name!r} in {directory}")


def parse_prompt(source: str, name: str) -> Prompt:
    """Split front-matter and ### system / ### user sections."""
    front: dict = {}
    body = source
    if source.startswith("---"):
        _, header, body = source.split("---", 2)
        front = yaml.safe_load(header) or {}
    parts = _SECTION.split(body)
    sections = {role: text.strip() + "\n" for role, text in zip(parts[1::2], parts[2::2])}
    return Prompt(
        name=str(front.get("name", name)), version=str(front.get("version", "0")), sections=sections
    )
