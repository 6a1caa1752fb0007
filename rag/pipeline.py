"""build_pipeline(settings) wires every stage; Pipeline is the facade the interfaces call.

The work happens in three services, built here and handed in: IngestService (rag.ingest),
AnswerService (rag.answer) and AnalysisService (rag.analysis).
"""

from rag.analysis.conversation import Conversation
from rag.analysis.service import AnalysisService
from rag.answer.entailment import load_entailment
from rag.answer.evidence import SentenceVectors
from rag.answer.retrieve import HybridRetriever
from rag.answer.service import AnswerService
from rag.answer.verify import Verifier
from rag.core.errors import NotFound
from rag.core.models import DocumentInfo
from rag.core.modes import default_mode
from rag.core.settings import Settings
from rag.index.embedding import Embedder, build_embedder
from rag.index.keywords import keyword_folder
from rag.index.store import ChunkStore
from rag.ingest.service import IngestService


class Pipeline:
    """Ingest, answer, summarise, compare: one object, built once per process.

    A facade: each verb is the method of the service that does the work (ingest,
    ingest_files and delete of IngestService; ask, retrieve, clean_question and generator of
    AnswerService, but ask is Conversation's: follow-ups and routing; summarize and compare of
    AnalysisService).
    """

    def __init__(
        self,
        ingestion: IngestService,
        answers: AnswerService,
        analysis: AnalysisService,
        conversation: Conversation,
    ):
        self.ingestion, self.answers, self.analysis = ingestion, answers, analysis
        self.settings, self.store, self.embedder = (
            answers.settings,
            answers.store,
            ingestion.embedder,
        )
        self.vectors, self.retriever, self.verifier = (
            answers.vectors,
            answers.retriever,
            answers.verifier,
        )
        self.write_lock = ingestion.write_lock
        self.ingest, self.ingest_files, self.delete = (
            ingestion.ingest,
            ingestion.ingest_files,
            ingestion.delete,
        )
        self.ask, self.retrieve = conversation.ask, answers.retrieve
        self.clean_question, self.generator = answers.clean_question, answers.generator
        self.summarize, self.compare = analysis.summarize, analysis.compare

    @property
    def default_mode(self) -> str:
        return default_mode(self.settings)

    def documents(self) -> list[DocumentInfo]:
        """The indexed files."""
        return self.store.documents()

    def document(self, file: str) -> tuple[str, DocumentInfo]:
        """A file's text and metadata; NotFound when it is not indexed."""
        found = self.store.file_text(file)
        if found is None:
            raise NotFound(f"no indexed file named {file!r}")
        return found


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
        keyword_folder(settings),
        settings.background_share,
    )
    verifier = Verifier(
        vectors,
        settings.support_threshold,
        load_entailment(settings.entailment_model) if settings.verifier == "entailment" else None,
        settings.entailment_threshold,
        settings.entailment_gate,
    )
    answers = AnswerService(settings, store, vectors, retriever, verifier)
    analysis = AnalysisService(settings, store, answers)
    return Pipeline(
        IngestService(settings, store, embedder, retriever),
        answers,
        analysis,
        Conversation(answers, analysis),
    )
