"""The HTTP API (FastAPI) and the page (Gradio) on one app. Routes render pipeline results."""

import logging
import re
import secrets
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field, field_validator

from rag.analysis.compare import Comparison
from rag.answer.followup import Turn
from rag.core.cancel import cancellable
from rag.core.errors import BadInput
from rag.core.models import Answer, DocumentInfo
from rag.core.modes import Mode
from rag.core.settings import Settings
from rag.index.store import Filters, iso_date
from rag.interfaces.errors import add_error_handlers
from rag.interfaces.limits import RequestLimits
from rag.interfaces.streaming import (
    MODELS,
    ChatRequest,
    answer_events,
    chat_completion,
    chat_stream,
)
from rag.pipeline import Pipeline, build_pipeline

log = logging.getLogger(__name__)


class FilterModel(BaseModel):
    files: list[str] | None = Field(None, description="Only these files.")
    outlets: list[str] | None = Field(None, description="Only these outlets.")
    date_from: str | None = Field(None, description="YYYY-MM-DD, inclusive")
    date_to: str | None = Field(None, description="YYYY-MM-DD, inclusive")

    @field_validator("date_from", "date_to")
    @classmethod
    def _real_date(cls, value: str | None) -> str | None:
        return None if value is None else iso_date(value)


class HistoryTurn(BaseModel):
    role: Literal["user", "assistant"]
    content: str = Field(..., max_length=20_000)


class AnswerRequest(BaseModel):
    question: str = Field(..., description="What to ask the articles.")
    history: list[HistoryTurn] = Field(
        [],
        max_length=40,
        description='Earlier turns, oldest first: a follow-up ("How old was he?") is rewritten '
        "to stand alone; the answer's `asked` keeps the question as sent.",
    )
    filters: FilterModel | None = None
    top_k: int | None = Field(None, ge=1, le=50, description="Passages to answer from.")
    stream: bool = Field(
        False,
        description="Server-sent events: `token`s, then each verified `sentence`, then `answer`.",
    )
    mode: Mode | None = Field(None, description="Default: from settings.")


class SummarizeRequest(BaseModel):
    files: list[str] | None = Field(None, description="Files to summarise; all when omitted.")
    length: int = Field(5, ge=1, le=30, description="Sentences in the summary.")
    mode: Mode | None = Field(
        None, description="Default: from settings. LLM summaries are map-reduced and verified."
    )


class CompareRequest(BaseModel):
    files: list[str] | None = Field(None, description="Files to compare; all when omitted.")


class DocumentText(BaseModel):
    document: DocumentInfo
    text: str
    highlights: list[tuple[int, int]] = Field(
        [], description="Spans [start, end) to highlight, e.g. the ones an answer cited."
    )


class IngestResult(BaseModel):
    added: list[str]
    updated: list[str]
    unchanged: list[str]
    skipped: list[tuple[str, str]]
    chunks_written: int


def create_api() -> FastAPI:
    """The API alone, settings from the environment: what each of `rag serve --workers N`
    runs (the page keeps its sessions in one process)."""
    return create_app(page=False)


def create_app(
    settings: Settings | None = None, pipeline: Pipeline | None = None, page: bool = True
) -> FastAPI:
    """The FastAPI app with the page mounted at /; the pipeline is built at startup if not given."""
    settings = settings or Settings()
    state: dict = {"pipeline": pipeline}

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        if state["pipeline"] is None:
            state["pipeline"] = build_pipeline(settings)
        yield

    app = FastAPI(
        title="citerag",
        version="0.1.0",
        description="Answers about a folder of articles; every sentence cites file and passage.",
        lifespan=lifespan,
    )

    app.add_middleware(RequestLimits, settings=settings)

    def current() -> Pipeline:
        if state["pipeline"] is None:
            raise HTTPException(503, "the pipeline is still loading")
        return state["pipeline"]

    auth = _bearer_auth(settings)
    add_error_handlers(app)
    _add_routes(app, current, auth, settings)
    if page:
        _mount_page(app, current, settings)
    return app


def _bearer_auth(settings: Settings):  # type: ignore[no-untyped-def]
    scheme = HTTPBearer(auto_error=False)

    def check(credentials: HTTPAuthorizationCredentials | None = Depends(scheme)) -> None:
        if not settings.api_key:
            return
        given = credentials.credentials if credentials else ""
        if not secrets.compare_digest(given.encode(), settings.api_key.encode()):
            raise HTTPException(
                401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"}
            )

    return check


def _add_routes(app: FastAPI, current, auth, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    guarded = [Depends(auth)]

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"])
    def readyz() -> JSONResponse:
        """The store answers and the models are loaded."""
        pipeline = current()
        try:
            chunks = pipeline.store.count()
        except Exception as err:  # the store is down: not ready, and say why
            return JSONResponse({"status": "unavailable", "detail": str(err)}, status_code=503)
        return JSONResponse({"status": "ready", "chunks": chunks, "mode": pipeline.default_mode})

    @app.post("/v1/answer", response_model=Answer, tags=["answers"], dependencies=guarded)
    def answer(request: AnswerRequest, http: Request) -> Answer | StreamingResponse:
        """A verified answer whose every sentence cites file and passage, or an abstention."""
        pipeline = current()
        filters = _filters(request.filters, settings)
        history = [Turn(t.role, t.content) for t in request.history]
        mode = request.mode
        if not request.stream:
            with cancellable(_cancel_flag(http)):
                return pipeline.ask(
                    request.question, filters, history=history, top_k=request.top_k, mode=mode
                )
        question = pipeline.clean_question(request.question)  # a bad question is a plain 400
        pipeline.generator(request.mode)  # so is a mode that is not configured
        events = answer_events(
            lambda on_token, on_sentence: pipeline.ask(
                question,
                filters,
                history=history,
                top_k=request.top_k,
                mode=mode,
                on_token=on_token,
                on_sentence=on_sentence,
            ),
            _cancel_flag(http),
        )
        return StreamingResponse(events, media_type="text/event-stream")

    @app.post("/v1/summarize", response_model=Answer, tags=["answers"], dependencies=guarded)
    def summarize(request: SummarizeRequest, http: Request) -> Answer:
        """A summary of some files (or all), every sentence cited and verified."""
        for file in request.files or []:
            _check_name(file)
        with cancellable(_cancel_flag(http)):
            return current().summarize(request.files, request.length, request.mode)

    @app.post("/v1/compare", response_model=Comparison, tags=["answers"], dependencies=guarded)
    def compare(request: CompareRequest, http: Request) -> Comparison:
        """Claims several files corroborate, claims only one reports, conflicting numbers, the
        words each outlet uses for the same actors, and near-duplicate articles; all cited."""
        for file in request.files or []:
            _check_name(file)
        with cancellable(_cancel_flag(http)):
            return current().compare(request.files)

    @app.get("/v1/models", tags=["openai"], dependencies=guarded)
    def models() -> dict:
        """The model names /v1/chat/completions accepts."""
        return {
            "object": "list",
            "data": [{"id": name, "object": "model", "owned_by": "citerag"} for name in MODELS],
        }

    @app.post("/v1/chat/completions", tags=["openai"], dependencies=guarded)
    def chat(request: ChatRequest, http: Request) -> Any:
        """OpenAI-compatible: the last user message is the question. The reply's text carries
        [file:Lline] markers; `citations` (flat, with sentence index) and `citerag` (the full
        answer object) are extra fields on the completion (on the last chunk when streaming).
        Options that cannot be honoured (n > 1, required tool calls, JSON output) are a 400."""
        request.check_supported()
        pipeline = current()
        question, mode, history = request.question(), request.mode(), request.history()
        if request.stream:
            pipeline.clean_question(question)  # a bad question is a plain 400
            pipeline.generator(mode)  # so is a mode that is not configured
            events = chat_stream(
                lambda: pipeline.ask(question, mode=mode, history=history),
                request,
                _cancel_flag(http),
            )
            return StreamingResponse(events, media_type="text/event-stream")
        with cancellable(_cancel_flag(http)):
            answer = pipeline.ask(question, mode=mode, history=history)
        return chat_completion(answer, request)

    @app.get(
        "/v1/documents", response_model=list[DocumentInfo], tags=["documents"], dependencies=guarded
    )
    def documents() -> list[DocumentInfo]:
        """Indexed files with metadata and chunk counts."""
        return current().documents()

    @app.get(
        "/v1/documents/{file:path}",
        response_model=DocumentText,
        tags=["documents"],
        dependencies=guarded,
    )
    def document(file: str, highlight: str | None = None) -> DocumentText:
        """A file's text; `highlight=start-end,start-end` marks cited spans."""
        _check_name(file)
        text, info = current().document(file)
        return DocumentText(document=info, text=text, highlights=_spans(highlight, len(text)))

    @app.get("/passage", response_class=HTMLResponse, include_in_schema=False)
    def passage(file: str, start: int, end: int) -> HTMLResponse:
        """A cited passage, highlighted in its context: where the page's citation links go
        (behind the same key as the page)."""
        from rag.interfaces.page import CSS
        from rag.interfaces.page_render import passage_page

        _check_name(file)
        return HTMLResponse(passage_page(current(), file, start, end, CSS))

    @app.delete("/v1/documents/{file:path}", tags=["documents"], dependencies=guarded)
    def delete(file: str) -> dict:
        """Drop a file from the index."""
        _check_name(file)
        return {"file": file, "chunks_deleted": current().delete(file)}

    @app.post(
        "/v1/documents", response_model=IngestResult, tags=["documents"], dependencies=guarded
    )
    def upload(files: list[UploadFile], http: Request) -> IngestResult:
        """Upload and index one or more txt, md or html files."""
        with cancellable(_cancel_flag(http)):
            return _ingest_uploads(current(), files, settings)


def _filters(model: FilterModel | None, settings: Settings) -> Filters | None:
    if model is None:
        return None
    for field in ("files", "outlets"):
        values = getattr(model, field) or []
        if len(values) > settings.max_filter_values:
            raise RequestValidationError(
                [
                    {
                        "type": "too_long",
                        "loc": ("body", "filters", field),
                        "msg": f"at most {settings.max_filter_values} values, got {len(values)}",
                    }
                ]
            )
    filters = Filters(**model.model_dump())
    return filters if any(vars(filters).values()) else None


def _cancel_flag(request: Request):  # type: ignore[no-untyped-def]
    """The flag the gate sets when this request's client disconnects (rag.interfaces.limits)."""
    return getattr(request.state, "cancelled", None)


def _check_name(file: str) -> None:
    parts = Path(file).parts
    if ".." in parts or file.startswith(("/", "\\")) or "\x00" in file:
        raise BadInput(f"invalid file name {file!r}: paths may not leave the corpus")


def _spans(value: str | None, limit: int) -> list[tuple[int, int]]:
    spans = []
    for part in filter(None, (value or "").split(",")):
        match = re.fullmatch(r"(\d+)-(\d+)", part.strip())
        if not match or not int(match.group(1)) < int(match.group(2)) <= limit:
            raise BadInput(f"bad highlight span {part!r}: use start-end within the text")
        spans.append((int(match.group(1)), int(match.group(2))))
    return spans


def _ingest_uploads(
    pipeline: Pipeline, files: list[UploadFile], settings: Settings
) -> IngestResult:
    named = []
    for upload in files:
        data = upload.file.read(settings.max_file_bytes + 1)
        if len(data) > settings.max_file_bytes:
            raise BadInput(f"{upload.filename} is larger than {settings.max_file_bytes:,} bytes")
        named.append((upload.filename or "", data))
    report = pipeline.ingest_files(named)
    if report.skipped and not (report.added or report.updated or report.unchanged):
        reasons = "; ".join(f"{name}: {why}" for name, why in report.skipped)
        raise BadInput(f"nothing indexed: {reasons}")
    return IngestResult(
        added=report.added,
        updated=report.updated,
        unchanged=report.unchanged,
        skipped=report.skipped,
        chunks_written=report.chunks_written,
    )


def _mount_page(app: FastAPI, current, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    import gradio as gr

    from rag.interfaces.page import CSS, THEME, build_page

    gr.mount_gradio_app(
        app,
        build_page(current, settings),
        path="/",
        server_name=settings.host,
        server_port=settings.port,
        css=CSS,
        theme=THEME,
        max_file_size=settings.max_file_bytes,  # the page's uploads: the same per-file limit
    )
