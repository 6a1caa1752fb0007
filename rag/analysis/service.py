"""Across files: cited summaries (extractive, or LLM map-reduce) and the cross-source view."""

import time

from rag.analysis.compare import Comparison, compare_files
from rag.analysis.summarize import batch_chunks, reduce_summary, select_summary_sentences
from rag.answer.compose import compose, ms
from rag.answer.generate import ChatGenerator
from rag.answer.service import AnswerService
from rag.core.errors import BadInput, NotFound
from rag.core.models import Answer, AnswerSentence, Chunk, Hit, one_chunk_per_file
from rag.core.settings import Settings
from rag.index.store import ChunkStore


class AnalysisService:
    """Summaries and comparisons of named files (or all), bounded per request."""

    def __init__(self, settings: Settings, store: ChunkStore, answers: AnswerService):
        self.settings = settings
        self.store = store
        self.answers = answers
        self.vectors = answers.vectors
        self.verifier = answers.verifier

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
            found = self.store.finished(self.store.chunks_of(name))
            if not found:
                raise NotFound(f"no indexed file named {name!r}")
            chunks += found
        length = max(1, min(length, 30))
        generator = self.answers.generator(mode)
        title = f"Summary of {', '.join(names) if files else 'all articles'}"
        hits = [Hit(c, 0.0) for c in chunks]
        sentences, fallback = [], None
        if isinstance(generator, ChatGenerator):
            sentences = self._llm_summary(generator, chunks, length)
            if not any(s.supported for s in sentences):
                fallback = "no sentence of the LLM's summary was supported by its citations"
        if not any(s.supported for s in sentences):
            sentences += self._extractive_summary(chunks, length)
        timings = {"total_ms": ms(began)}
        return compose(title, generator.name, sentences, hits, fallback, timings)

    def _extractive_summary(self, chunks: list[Chunk], length: int) -> list[AnswerSentence]:
        points = select_summary_sentences(chunks, self.vectors, length)
        return [
            self.verifier.verify(point[0].text, one_chunk_per_file([s.chunk for s in point]))
            for point in points
        ]

    def _llm_summary(
        self, generator: ChatGenerator, chunks: list[Chunk], length: int
    ) -> list[AnswerSentence]:
        drafted: list[AnswerSentence] = []
        for batch in batch_chunks(chunks, self.settings.summary_batch_chars):
            hits = [Hit(c, 0.0) for c in batch]
            drafted += self.answers.verify(generator.summarize(hits, length), hits)
        kept = reduce_summary([s for s in drafted if s.supported], self.vectors, length)
        return kept + [s for s in drafted if not s.supported]

    def compare(self, files: list[str] | None = None) -> Comparison:
        """Claims aligned across files (all when none are named), framing, near-duplicates."""
        names = self._bounded_names(files, "compare")
        if len(names) < 2:
            raise BadInput("comparing needs at least two indexed files")
        chunks = {}
        for name in names:
            chunks[name] = self.store.finished(self.store.chunks_of(name))
            if not chunks[name]:
                raise NotFound(f"no indexed file named {name!r}")
        return compare_files(chunks, self.vectors)

    def _bounded_names(self, files: list[str] | None, verb: str) -> list[str]:
        """The named files (each once), or every indexed file; BadInput past the per-request
        limit, so one request cannot hold the server for minutes."""
        names = list(dict.fromkeys(files)) if files else [d.file for d in self.store.documents()]
        limit = self.settings.max_files_per_request
        if len(names) > limit:
            which = "files named" if files else "files indexed"
            raise BadInput(
                f"{len(names):,} {which}: {verb} at most {limit} at once (name the files, or "
                "raise RAG_MAX_FILES_PER_REQUEST)"
            )
        return names
