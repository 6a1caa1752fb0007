"""build_pipeline(settings) wires every stage; Pipeline is what the CLI, API and page call."""

import re
import tempfile
import threading
import time
import unicodedata
from pathlib import Path

from rag.analysis.compare import Comparison, compare_files
from rag.analysis.summarize import batch_chunks, reduce_summary, select_summary_sentences
from rag.answer.evidence import SentenceVectors, score_evidence
from rag.answer.generate import (
    ABSTAIN_TEXT,
    ChatGenerator,
    Draft,
    Generator,
    OnToken,
    build_generator,
)
from rag.answer.retrieve import HybridRetriever
from rag.answer.verify import Verifier
from rag.core.errors import BadInput, LLMUnavailable, NotFound
from rag.core.models import (
    Answer,
    AnswerSentence,
    Chunk,
    DocumentInfo,
    Hit,
    Source,
    one_chunk_per_file,
)
from rag.core.modes import checked_mode, default_mode
from rag.core.settings import Settings
from rag.index.embedding import Embedder, build_embedder
from rag.index.store import ChunkStore, Filters
from rag.ingest.folder import IngestReport, ingest_folder
from rag.ingest.loaders import SUPPORTED_SUFFIXES

_MAX_NAME = 200
# Terminal escape sequences (colours, titles) go whole; other control characters and lone
# surrogates (valid JSON, but not encodable text) become spaces.
_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


class Pipeline:
    """Ingest, retrieve, generate, verify: one object, built once per process."""

    def __init__(self, settings: Settings, store: ChunkStore, embedder: Embedder):
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.vectors = SentenceVectors(embedder)
        self.retriever = HybridRetriever(  # cached vectors: a question is embedded once
            store,
            self.vectors,
            settings.candidates,
            settings.rrf_k,
            settings.data_dir / "lexical" / f"{settings.collection}.json",
        )
        self.verifier = Verifier(self.vectors, settings.support_threshold)
        self._generators: dict[str, Generator] = {}
        self.write_lock = threading.Lock()

    @property
    def default_mode(self) -> str:
        return default_mode(self.settings)

    def generator(self, mode: str | None) -> Generator:
        """The generator for mode (default: from settings); an unconfigured mode is refused."""
        mode = checked_mode(mode, self.settings)
        if mode not in self._generators:
            self._generators[mode] = build_generator(mode, self.settings)
        return self._generators[mode]

    def ingest(
        self,
        root: Path,
        sync: bool = False,
        progress: bool | None = None,
        origin: str | None = None,
        dry_run: bool = False,
    ) -> IngestReport:
        """Index the files under root (see rag.ingest.folder)."""
        with self.write_lock:
            report = ingest_folder(
                root, self.store, self.embedder, self.settings, sync, progress, origin, dry_run
            )
            if report.chunks_written or report.chunks_deleted:
                self.retriever.lexical()  # built (and saved) here, not on the next question
            return report

    def ingest_files(self, files: list[tuple[str, bytes]]) -> IngestReport:
        """Index uploaded files under their own names (txt, md, html); others are refused, and
        so is an upload naming two files alike (one would overwrite the other)."""
        if len(files) > self.settings.max_upload_files:
            raise BadInput(
                f"{len(files)} files in one upload; the limit is {self.settings.max_upload_files}"
            )
        named: dict[str, bytes] = {}
        for name, data in files:
            base = upload_name(name)
            if base in named:
                raise BadInput(f"two uploaded files are both named {base!r}: rename one")
            named[base] = data
        with tempfile.TemporaryDirectory() as folder:
            for base, data in named.items():
                (Path(folder) / base).write_bytes(data)
            return self.ingest(Path(folder), origin="upload")

    def documents(self) -> list[DocumentInfo]:
        """The indexed files."""
        return self.store.documents()

    def document(self, file: str) -> tuple[str, DocumentInfo]:
        """A file's text and metadata; NotFound when it is not indexed."""
        found = self.store.file_text(file)
        if found is None:
            raise NotFound(f"no indexed file named {file!r}")
        return found

    def delete(self, file: str) -> int:
        """Drop a file's chunks and record; returns how many chunks went."""
        with self.write_lock:
            ids = self.store.file_chunk_ids().get(file, ("", set()))[1]
            if not ids and self.store.file_text(file) is None:
                raise NotFound(f"no indexed file named {file!r}")
            self.store.delete(sorted(ids))
            self.store.drop_file(file)
            self.store.bump_version()
            return len(ids)

    def ask(
        self,
        question: str,
        filters: Filters | None = None,
        top_k: int | None = None,
        mode: str | None = None,
        on_token: OnToken = None,
    ) -> Answer:
        """A verified, cited answer, or an abstention when the sources do not say.

        on_token, if given, receives the generator's raw text as it is written (an LLM's tokens,
        unverified); the returned Answer is what survived verification.
        """
        question = self.clean_question(question)
        generator = self.generator(mode)
        filters = filters.checked() if filters else None
        timings: dict[str, float] = {}
        began = time.perf_counter()
        hits = self._finished(
            self.retriever.retrieve(question, top_k or self.settings.top_k, filters)
        )
        evidence = score_evidence(
            question,
            hits,
            self.vectors,
            self.retriever.lexical().idf,
            self.settings.evidence_sentences,
        )
        timings["retrieve_ms"] = _ms(began)
        if not evidence or evidence[0].score < self.settings.abstain_threshold:
            return _abstain(question, generator.name, timings, began)
        hits = hits + self._neighbours(evidence[0].chunk, hits)
        try:
            draft = generator.draft(question, hits, evidence, on_token)
        except LLMUnavailable as err:
            err.sources = sources_of(hits)
            raise
        timings["generate_ms"] = _ms(began) - timings["retrieve_ms"]
        sentences = self._verify(draft, hits)
        fallback = None
        if not any(s.supported for s in sentences) and generator.name != "extractive":
            if draft.abstained:
                return _abstain(question, generator.name, timings, began)
            fallback = (
                draft.note or "no sentence of the LLM's answer was supported by its citations"
            )
            if self.settings.llm_fallback == "abstain":
                return _abstain(question, generator.name, timings, began, fallback, sentences)
            extractive = self.generator("extractive").draft(question, hits, evidence)
            sentences += self._verify(extractive, hits)
        timings["total_ms"] = _ms(began)
        return _compose(question, generator.name, sentences, hits, fallback, timings)

    def summarize(
        self, files: list[str] | None = None, length: int = 5, mode: str | None = None
    ) -> Answer:
        """A cited summary of some files (all when none are named), verified like answers.

        Extractive by default. With an LLM: map (each batch of passages that fits the context is
        summarised with citations, every sentence verified) then reduce (the most central
        supported sentences, near-duplicates merged); the extractive summary if none survive.
        """
        began = time.perf_counter()
        names = self._bounded_names(files, "summarise")
        if not names:
            raise BadInput("nothing is indexed yet")
        chunks = []
        for name in names:
            found = self._finished_chunks(self.store.chunks_of(name))
            if not found:
                raise NotFound(f"no indexed file named {name!r}")
            chunks += found
        length = max(1, min(length, 30))
        generator = self.generator(mode)
        title = f"Summary of {', '.join(names) if files else 'all articles'}"
        hits = [Hit(c, 0.0) for c in chunks]
        sentences, fallback = [], None
        if isinstance(generator, ChatGenerator):
            sentences = self._llm_summary(generator, chunks, length)
            if not any(s.supported for s in sentences):
                fallback = "no sentence of the LLM's summary was supported by its citations"
        if not any(s.supported for s in sentences):
            sentences += self._extractive_summary(chunks, length)
        timings = {"total_ms": _ms(began)}
        return _compose(title, generator.name, sentences, hits, fallback, timings)

    def _extractive_summary(self, chunks: list[Chunk], length: int) -> list[AnswerSentence]:
        points = select_summary_sentences(chunks, self.vectors, length)
        return [
            self.verifier.verify(p[0][3], one_chunk_per_file([s[0] for s in p])) for p in points
        ]

    def _llm_summary(
        self, generator: ChatGenerator, chunks: list[Chunk], length: int
    ) -> list[AnswerSentence]:
        drafted: list[AnswerSentence] = []
        for batch in batch_chunks(chunks, self.settings.summary_batch_chars):
            hits = [Hit(c, 0.0) for c in batch]
            drafted += self._verify(generator.summarize(hits, length), hits)
        kept = reduce_summary([s for s in drafted if s.supported], self.vectors, length)
        return kept + [s for s in drafted if not s.supported]

    def compare(self, files: list[str] | None = None) -> Comparison:
        """Claims aligned across files (all when none are named), framing, near-duplicates."""
        names = self._bounded_names(files, "compare")
        if len(names) < 2:
            raise BadInput("comparing needs at least two indexed files")
        chunks = {}
        for name in names:
            chunks[name] = self._finished_chunks(self.store.chunks_of(name))
            if not chunks[name]:
                raise NotFound(f"no indexed file named {name!r}")
        return compare_files(chunks, self.vectors)

    def _bounded_names(self, files: list[str] | None, verb: str) -> list[str]:
        """The named files (each once), or every indexed file; BadInput past the per-request
        limit, so one request cannot hold the server for minutes."""
        names = list(dict.fromkeys(files)) if files else [d.file for d in self.documents()]
        limit = self.settings.max_files_per_request
        if len(names) > limit:
            which = "files named" if files else "files indexed"
            raise BadInput(
                f"{len(names):,} {which}: {verb} at most {limit} at once (name the files, or "
                "raise RAG_MAX_FILES_PER_REQUEST)"
            )
        return names

    def _neighbours(self, chunk: Chunk, hits: list[Hit]) -> list[Hit]:
        """Chunks around the best evidence that retrieval missed: an answer may run on."""
        have = {hit.chunk.id for hit in hits}
        around = self._finished_chunks(self.store.neighbours(chunk))
        return [Hit(c, 0.0) for c in around if c.id not in have]

    def _finished(self, hits: list[Hit]) -> list[Hit]:
        """The hits whose chunk belongs to the current, fully indexed version of its file."""
        keep = {c.id for c in self._finished_chunks([hit.chunk for hit in hits])}
        return [hit for hit in hits if hit.chunk.id in keep]

    def _finished_chunks(self, chunks: list[Chunk]) -> list[Chunk]:
        """Chunks that match their file's recorded text.

        An ingest writes a file's new chunks, then deletes its stale ones, then its record; a
        query running meanwhile (or a lexical index built before) can see chunks of a file with
        no record yet, or of another version than the recorded one. Citing those would quote
        text the file does not have, so they wait until the ingest has finished.
        """
        texts = self.store.recorded_texts(c.file for c in chunks)
        return [c for c in chunks if c.file in texts and texts[c.file][c.start : c.end] == c.text]

    def _verify(self, draft: Draft, hits: list[Hit]) -> list[AnswerSentence]:
        """Each claim checked against what it cites; an uncited one against its closest passage."""
        retrieved = [hit.chunk for hit in hits]
        return [
            self.verifier.verify(claim, chunks)
            if chunks
            else self.verifier.attribute(claim, retrieved)
            for claim, chunks in draft.claims
        ]

    def clean_question(self, question: str) -> str:
        """The question without control characters; empty or over-long ones are refused."""
        question = (question or "").strip()
        if len(question) > self.settings.max_question_chars:  # before any work on it
            raise BadInput(
                f"the question is {len(question):,} characters; the limit is "
                f"{self.settings.max_question_chars:,}"
            )
        question = " ".join(_CONTROL.sub(" ", _ESCAPE.sub("", question)).split())
        if not question:
            raise BadInput("the question is empty")
        if not re.search(r"\w", question):
            raise BadInput("the question has no words in it")
        return question


def upload_name(name: str) -> str:
    """The name an uploaded file is indexed under (its base name, NFC); BadInput saying what is
    wrong with it otherwise."""
    base = unicodedata.normalize("NFC", Path(name.replace("\\", "/")).name)
    if Path(base).suffix.lower() not in SUPPORTED_SUFFIXES:
        raise BadInput(f"cannot index {name!r}: upload .txt, .md or .html files")
    if len(base) > _MAX_NAME:
        raise BadInput(f"the file name is {len(base)} characters long; the limit is {_MAX_NAME}")
    if not _safe_name(base):
        raise BadInput(
            f"cannot index {name!r}: a file name may hold letters, digits, spaces, '.', '-' "
            "and '_', and must start with a letter or digit"
        )
    return base


def _safe_name(name: str) -> bool:
    """Letters (with their combining marks), digits, spaces, '.', '-', '_'; a letter or digit
    or "_" first: nothing a path or a shell could read as more than a name."""
    allowed = all(
        c.isalnum() or c in " .-_" or unicodedata.category(c).startswith("M") for c in name
    )
    return allowed and (name[:1].isalnum() or name.startswith("_"))


def _compose(
    question: str,
    mode: str,
    sentences: list[AnswerSentence],
    hits: list[Hit],
    fallback: str | None,
    timings: dict[str, float],
) -> Answer:
    kept = [s for s in sentences if s.supported]
    if not kept:
        return _abstain(question, mode, timings, None, fallback, sentences)
    text = " ".join(f"{s.text} {''.join(c.marker for c in s.citations)}" for s in kept)
    cited = {c.file for s in kept for c in s.citations}
    sources = [source for source in sources_of(hits) if source.file in cited]
    return Answer(
        question=question,
        answer=text,
        abstained=False,
        mode=mode,
        sentences=sentences,
        sources=sources,
        fallback=fallback,
        timings=timings,
    )


def _abstain(
    question: str,
    mode: str,
    timings: dict[str, float],
    began: float | None,
    fallback: str | None = None,
    sentences: list[AnswerSentence] | None = None,
) -> Answer:
    if began is not None:
        timings["total_ms"] = _ms(began)
    return Answer(
        question=question,
        answer=ABSTAIN_TEXT,
        abstained=True,
        mode=mode,
        sentences=sentences or [],
        fallback=fallback,
        timings=timings,
    )


def sources_of(hits: list[Hit]) -> list[Source]:
    """One source per file among the hits, best hit first."""
    seen: dict[str, Source] = {}
    for hit in hits:
        seen.setdefault(hit.chunk.file, Source.from_meta(hit.chunk.file, hit.chunk.metadata))
    return list(seen.values())


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 1)


def build_pipeline(settings: Settings | None = None) -> Pipeline:
    """Create the store, embedder and everything downstream from one settings object."""
    settings = settings or Settings()
    embedder = build_embedder(settings)
    return Pipeline(settings, ChunkStore(settings, embedder.name), embedder)
