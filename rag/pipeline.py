"""build_pipeline(settings) wires every stage; Pipeline is the facade the interfaces call.

The work happens in three services, built here and handed in: IngestService (rag.ingest),
AnswerService (rag.answer) and AnalysisService (rag.analysis).
"""

from pathlib import Path

from rag.analysis.compare import Comparison
from rag.analysis.service import AnalysisService
from rag.answer.evidence import SentenceVectors
from rag.answer.generate import Generator, OnToken
from rag.answer.retrieve import HybridRetriever
from rag.answer.service import AnswerService
from rag.answer.verify import Verifier
from rag.core.errors import NotFound
from rag.core.models import Answer, DocumentInfo, Hit
from rag.core.modes import default_mode
from rag.core.settings import Settings
from rag.index.embedding import Embedder, build_embedder
from rag.index.filters import Filters
from rag.index.store import ChunkStore
from rag.ingest.folder import IngestReport
from rag.ingest.service import IngestService


class Pipeline:
    """Ingest, answer, summarise, compare: one object, built once per process."""

    def __init__(
        self,
        settings: Settings,
        store: ChunkStore,
        embedder: Embedder,
        ingestion: IngestService,
        answers: AnswerService,
        analysis: AnalysisService,
    ):
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.ingestion = ingestion
        self.answers = answers
        self.analysis = analysis
        self.vectors = answers.vectors
        self.retriever = answers.retriever
        self.verifier = answers.verifier
        self.write_lock = ingestion.write_lock

    @property
    def default_mode(self) -> str:
        return default_mode(self.settings)

    def generator(self, mode: str | None) -> Generator:
        """The generator for mode (default: from settings); an unconfigured mode is refused."""
        return self.answers.generator(mode)

    def ingest(
        self,
        root: Path,
        sync: bool = False,
        progress: bool | None = None,
        origin: str | None = None,
        dry_run: bool = False,
    ) -> IngestReport:
        """Index the files under root (see rag.ingest.folder)."""
        return self.ingestion.ingest(root, sync, progress, origin, dry_run)

    def ingest_files(self, files: list[tuple[str, bytes]]) -> IngestReport:
        """Index uploaded files under their own names."""
        return self.ingestion.ingest_files(files)

    def delete(self, file: str) -> int:
        """Drop a file's chunks and record; returns how many chunks went."""
        return self.ingestion.delete(file)

    def documents(self) -> list[DocumentInfo]:
        """The indexed files."""
        return self.store.documents()

    def document(self, file: str) -> tuple[str, DocumentInfo]:
        """A file's text and metadata; NotFound when it is not indexed."""
        found = self.store.file_text(file)
        if found is None:
            raise NotFound(f"no indexed file named {file!r}")
        return found

    def clean_question(self, question: str) -> str:
        """The question without control characters; empty or over-long ones are refused."""
        return self.answers.clean_question(question)

    def retrieve(
        self, question: str, top_k: int | None = None, filters: Filters | None = None
    ) -> list[Hit]:
        """The passages for a question, of fully indexed files only."""
        return self.answers.retrieve(question, top_k, filters)

    def ask(
        self,
        question: str,
        filters: Filters | None = None,
        top_k: int | None = None,
        mode: str | None = None,
        on_token: OnToken = None,
    ) -> Answer:
        """A verified, cited answer, or an abstention when the sources do not say."""
        return self.answers.ask(question, filters, top_k, mode, on_token)

    def summarize(
        self, files: list[str] | None = None, length: int = 5, mode: str | None = None
    ) -> Answer:
        """A cited summary of some files (all when none are named), verified like answers."""
        return self.analysis.summarize(files, length, mode)

    def compare(self, files: list[str] | None = None) -> Comparison:
        """Claims aligned across files (all when none are named), framing, near-duplicates."""
        return self.analysis.compare(files)


def build_pipeline(
    settings: Settings | None = None,
    store: ChunkStore | None = None,
    embedder: Embedder | None = None,
) -> Pipeline:
    """Every stage from one settings object (an existing store and embedder may be shared)."""
    settings = settings or Settings()
    embedder = embedder or build_embedder(settings)
    store = store or ChunkStore(settings, embedder.name)
    vectors = SentenceVectors(embedder)
    retriever = HybridRetriever(  # cached vectors: a question is embedded once
        store,
        vectors,
        settings.candidates,
        settings.rrf_k,
        settings.data_dir / "lexical" / f"{settings.collection}.json",
    )
    verifier = Verifier(vectors, settings.support_threshold)
    answers = AnswerService(settings, store, vectors, retriever, verifier)
    return Pipeline(
        settings,
        store,
        embedder,
        IngestService(settings, store, embedder, retriever),
        answers,
        AnalysisService(settings, store, answers),
    )
