"""The data every stage passes on: chunks in, answers out. Citations are data, not text."""

from dataclasses import dataclass, field

from pydantic import BaseModel, Field


@dataclass
class Chunk:
    """A run of whole sentences from one file, with offsets into that file's text."""

    id: str
    file: str
    text: str
    start: int
    end: int
    line: int
    sentences: list[tuple[int, int]]
    metadata: dict = field(default_factory=dict)

    def sentence_texts(self) -> list[tuple[int, int, str]]:
        """(start, end, text) of each sentence, offsets absolute in the file."""
        return [(s, e, self.text[s - self.start : e - self.start]) for s, e in self.sentences]

    def spans(self) -> list["Span"]:
        """Each sentence as a Span of this chunk."""
        return [Span(self, s, e, text) for s, e, text in self.sentence_texts()]

    def cite(self, start: int, end: int, score: float) -> "Citation":
        """A citation of the span [start, end) of this chunk's file."""
        return Citation(
            file=self.file,
            chunk_id=self.id,
            start=start,
            end=end,
            line=self.line + self.text.count("\n", 0, start - self.start),
            quote=self.text[start - self.start : end - self.start],
            score=round(score, 4),
        )


@dataclass
class Span:
    """A sentence (or any run of text) of a chunk: what evidence, verification, summaries and
    comparisons all work on. Offsets are absolute in the file's text."""

    chunk: Chunk
    start: int
    end: int
    text: str

    @property
    def file(self) -> str:
        return self.chunk.file

    def cite(self, score: float = 1.0) -> "Citation":
        return self.chunk.cite(self.start, self.end, score)


@dataclass
class Hit:
    """A retrieved chunk with the scores that ranked it."""

    chunk: Chunk
    score: float
    dense: float | None = None
    bm25: float | None = None


class Citation(BaseModel):
    """A pointer to the exact passage that supports a sentence."""

    file: str
    chunk_id: str
    start: int = Field(description="Character offset of the quoted span in the file's text.")
    end: int
    line: int = Field(description="1-based line of the span's start.")
    quote: str = Field(description="The file's text between start and end.")
    score: float = Field(description="Similarity of the sentence to the quoted span (0..1).")

    @property
    def marker(self) -> str:
        return f"[{self.file}:L{self.line}]"


class AnswerSentence(BaseModel):
    """One sentence of an answer or summary, its citations and the verifier's decision."""

    text: str
    supported: bool = True
    reason: str | None = Field(None, description="Why the verifier rejected it, if it did.")
    attributed: bool = Field(
        False, description="The generator cited nothing; the verifier attached the closest passage."
    )
    citations: list[Citation] = []


class Source(BaseModel):
    """A file the answer drew on."""

    file: str
    title: str | None = None
    outlet: str | None = None
    date: str | None = None

    @classmethod
    def from_meta(cls, file: str, meta: dict) -> "Source":
        """From stored metadata, where an unknown value is an empty string."""
        return cls(
            file=file,
            title=meta.get("title") or None,
            outlet=meta.get("outlet") or None,
            date=meta.get("date") or None,
        )


class Answer(BaseModel):
    """What the CLI's --json, the API, the page and the eval all consume."""

    question: str
    answer: str
    abstained: bool
    mode: str
    short_answer: str | None = Field(
        None,
        description="The shortest span that answers (a name, a number, a date), quoted from "
        "the first cited sentence; the answer text leads with it.",
    )
    confidence: float | None = Field(
        None,
        description="Extractive answers: the reader's probability (0..1) that the best passage "
        "it read answers the question; it abstains below its threshold.",
    )
    sentences: list[AnswerSentence] = []
    sources: list[Source] = []
    fallback: str | None = Field(None, description="Set when the answer fell back, and why.")
    note: str | None = Field(
        None,
        description="Why it abstained, when that is known before reading (e.g. no indexed "
        "article mentions a name the question asks about).",
    )
    route: str = Field(
        "factoid",
        description="factoid (short answer), open or summary (relevant points across files), "
        "or compare (the cross-source view of what is relevant).",
    )
    asked: str | None = Field(
        None, description="The question as asked, when a follow-up was rewritten to stand alone."
    )
    timings: dict[str, float] = {}


class DocumentInfo(Source):
    """An indexed file as listings show it."""

    chunks: int = 0


def one_chunk_per_file(chunks: list[Chunk]) -> list[Chunk]:
    """The first chunk of each file, in order: one citation per outlet."""
    by_file: dict[str, Chunk] = {}
    for chunk in chunks:
        by_file.setdefault(chunk.file, chunk)
    return list(by_file.values())
