"""All configuration in one typed class: environment (RAG_*), then rag.toml, then defaults."""

import os
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class Settings(BaseSettings):
    """citerag settings. Every field can be set as RAG_<NAME> or in rag.toml."""

    model_config = SettingsConfigDict(env_prefix="RAG_", toml_file="rag.toml", extra="ignore")

    data_dir: Path = Field(Path(".rag"), description="Where the index lives (embedded Chroma).")
    collection: str = Field(
        "articles",
        # Chroma's rule for names (the file records live in "<name>_files")
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{1,504}[A-Za-z0-9]$",
        description="Chroma collection name: 3-506 characters, letters, digits, '.', '_' or "
        "'-', starting and ending with a letter or digit.",
    )
    chroma_url: str | None = Field(
        None, description="Chroma server URL, e.g. http://127.0.0.1:8001. Overrides host/port."
    )
    chroma_host: str | None = Field(None, description="Chroma server host; unset = embedded.")
    chroma_port: int = Field(8000, description="Chroma server port.")
    chroma_timeout: float = Field(
        30.0, description="Seconds before a Chroma server request is abandoned (then a 503)."
    )

    embed_provider: Literal["local", "openai"] = Field(
        "local", description="local = bundled all-MiniLM-L6-v2; openai = OpenAI embeddings."
    )
    embed_model: str = Field(
        "text-embedding-3-small", description="OpenAI embedding model when embed_provider=openai."
    )
    embed_batch_size: int = Field(
        8,
        description="Texts per embedding batch (8 was fastest on 2 CPU cores; 64 is 1.4x slower).",
    )
    embed_precision: Literal["auto", "fp32", "int8"] = Field(
        "auto",
        description="Local model: fp32, or int8 (quantised; each text embedded alone, so its "
        "vector depends on nothing else; ~1.3x faster on CPU, but 3 of 52 eval cases flip). "
        "auto: whichever built the existing index, fp32 for a new one.",
    )
    model_cache: Path = Field(
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "citerag",
        description="Where the local model's ONNX export is kept (made once per machine).",
    )

    chunk_chars: int = Field(700, description="Target chunk size in characters.")
    chunk_overlap_sentences: int = Field(1, description="Sentences repeated between chunks.")
    max_file_bytes: int = Field(5_000_000, description="Files larger than this are skipped.")

    top_k: int = Field(6, description="Passages handed to the answerer.")
    candidates: int = Field(30, description="Candidates each retriever returns before fusion.")
    rrf_k: int = Field(60, description="Reciprocal-rank-fusion constant.")
    background_share: float = Field(
        0.12,
        ge=0.0,
        le=1.0,
        description="A name the question gives that this share of the passages hold is what "
        "the corpus is about, not which passage answers: the dense side is also asked the "
        "question without it, fused as a third ranking (0: off).",
    )

    mode: Literal["auto", "extractive", "llm", "llamacpp"] = Field(
        "auto",
        description="auto = llm when llm_base_url or OPENAI_API_KEY is set, else extractive.",
    )
    llm_base_url: str | None = Field(
        None, description="OpenAI-compatible endpoint (vLLM, Ollama, llama.cpp server...)."
    )
    llm_model: str = Field("gpt-4o-mini", description="Chat model name sent to the endpoint.")
    llm_model_path: Path | None = Field(
        None, description="A .gguf model for mode llamacpp (run in-process by llama-cpp-python)."
    )
    llm_api_key: str | None = Field(None, description="API key; falls back to OPENAI_API_KEY.")
    llm_timeout: float = Field(60.0, description="Seconds before an LLM call is abandoned.")
    llm_max_retries: int = Field(1, description="Retries (with backoff) on a failed LLM call.")
    llm_max_tokens: int = Field(400, description="Completion token limit.")
    llm_fallback: Literal["extractive", "abstain"] = Field(
        "extractive", description="What to answer when no LLM sentence survives verification."
    )

    abstain_threshold: float = Field(
        0.44, description="Abstain when the best evidence sentence scores below this (0..1)."
    )
    support_threshold: float = Field(
        0.55, description="Minimum cosine similarity between a sentence and its cited passage."
    )
    verifier: Literal["entailment", "words"] = Field(
        "entailment",
        description="How a sentence that is not a quote is checked, after the number, name, "
        "negation and opposite-word checks: 'entailment' = the shipped entailment model reads it "
        "against the cited sentences; 'words' = word coverage and cosine similarity only.",
    )
    entailment_model: Path | None = Field(
        None,
        description="An entailment model directory (entailment.json + ONNX); default: the "
        "shipped one.",
    )
    entailment_gate: float = Field(
        0.85,
        ge=0,
        le=1.01,
        description="The entailment model decides a sentence that keeps at least this share of "
        "its content words from the cited sentences; a more reworded one is checked by word "
        "coverage and similarity (tuned on eval/claims_tune.yaml).",
    )
    entailment_threshold: float | None = Field(
        None,
        description="Keep a sentence when the entailment model is at least this sure (0..1); "
        "default: the operating point calibrated with the model (see README).",
    )
    evidence_sentences: int = Field(
        12,
        description="Candidate sentences embedded per question, those sharing most of its "
        "words (0: all).",
    )
    reader: Literal["shipped", "off"] = Field(
        "shipped",
        description="Extractive answers: 'shipped' = the answer reader trained on SQuAD 2.0 "
        "picks the span and decides abstention; 'off' = quote the best-ranked evidence.",
    )
    reader_model: Path | None = Field(
        None, description="A reader model directory (reader.json + ONNX); default: the shipped one."
    )
    reader_windows: int = Field(
        6, description="Evidence sentences the reader reads, each with its neighbours."
    )
    reader_first_windows: int = Field(
        2,
        ge=1,
        description="The reader reads this many of them first, and the rest only when none "
        "of these clears its threshold.",
    )
    reader_threshold: float | None = Field(
        None,
        description="Abstain when no window is this likely to answer (0..1); default: the "
        "operating point calibrated with the model (see README).",
    )
    answer_check: Literal["entailment", "off"] = Field(
        "entailment",
        description="How a factoid answer the reader is sure enough of is checked before it is "
        "shown: `entailment` puts the question and its short answer as one statement and "
        "abstains unless the entailment model finds the cited sentences support it "
        "(rag/answer/check.py); `off`: the reader's threshold alone.",
    )
    answer_check_threshold: float = Field(
        0.01,
        ge=0,
        le=1,
        description="With answer_check, the support below which a factoid answer is abstained "
        "(chosen on SQuAD's tuning articles: see README).",
    )
    max_answer_sentences: int = Field(2, description="Evidence sentences in an extractive answer.")
    open_threshold: float = Field(
        0.25,
        description='Open questions and summary requests ("What is X\'s role?") are answered '
        "with the relevant points when the best evidence scores at least this; below, abstain.",
    )
    overview_points: int = Field(4, description="Points in an answer to an open question.")
    summary_points: int = Field(
        8, description='Points in the answer to a summary request in the chat ("Summarise X").'
    )
    summary_share: float = Field(
        0.45,
        gt=0,
        le=1,
        description="A summary request's points each score at least this share of the best one.",
    )
    open_evidence_sentences: int = Field(
        24,
        ge=0,
        description="Candidate sentences embedded for an open question (0: every sentence of "
        "the passages retrieved).",
    )
    open_similarity_weight: float = Field(
        0.65,
        ge=0,
        le=1,
        description="For an open question, the weight of a sentence's similarity to the "
        "question against the share of its words the sentence holds.",
    )
    overview_share: float = Field(
        0.6,
        gt=0,
        le=1,
        description="An open question's points each score at least this share of the best one.",
    )
    overview_redundancy: float = Field(
        0.3,
        ge=0,
        description="An open question's points are picked one by one for their score minus this "
        "times their similarity to a point already picked (MMR), so that they cover more; "
        "0: by score alone.",
    )
    condense_prompt: str = Field(
        "condense", description="Prompt that makes a follow-up standalone (LLM modes)."
    )
    max_question_chars: int = Field(2000, description="Longer questions are rejected.")
    answer_prompt: str = Field("answer", description="Prompt name (optionally name@version).")
    summary_prompt: str = Field("summarize", description="Prompt for LLM summaries (map step).")
    summary_batch_chars: int = Field(
        6000, description="Passage text per LLM summary call; larger inputs are map-reduced."
    )
    prompts_dir: Path = Field(
        Path(__file__).resolve().parent.parent / "prompts",
        description="Prompt templates (shipped inside the package; prompts/ links to them).",
    )

    host: str = Field("127.0.0.1", description="Address the server binds to.")
    port: int = Field(8000, description="Port the server listens on.")
    api_key: str | None = Field(None, description="When set, the API requires this bearer token.")
    max_concurrent_requests: int = Field(
        4,
        description="Answers, summaries, comparisons, chat completions and uploads served at "
        "once; more wait request_queue_seconds for a turn, then get a 429.",
    )
    request_queue_seconds: float = Field(
        2.0, description="How long an expensive request waits for a turn before a 429."
    )
    max_body_bytes: int = Field(1_000_000, description="Largest JSON request body; more is a 413.")
    max_upload_bytes: int = Field(
        20_000_000, description="Largest upload request, all files together; more is a 413."
    )
    body_read_seconds: float = Field(
        15.0, description="A request body not received within this long is a 408."
    )
    max_upload_files: int = Field(100, description="Files in one upload; more is a 400.")
    max_files_per_request: int = Field(
        100, description="Files one summary or comparison may cover; more is a 400."
    )
    max_filter_values: int = Field(
        200, description="Files or outlets one filter may list; more is a 422."
    )
    min_free_bytes: int = Field(
        50_000_000,
        description="Free disk space kept in reserve under data_dir: an ingest that would "
        "leave less is refused (507) before anything is embedded.",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @property
    def chroma_server(self) -> str | None:
        """The Chroma server URL, or None for the embedded store."""
        if self.chroma_url:
            return self.chroma_url
        if self.chroma_host:
            return f"http://{self.chroma_host}:{self.chroma_port}"
        return None

    def scratch(self, data_dir: Path, collection: str) -> "Settings":
        """These settings on a throwaway embedded store (evals and benchmarks index there)."""
        return self.model_copy(
            update={
                "data_dir": data_dir,
                "chroma_url": None,
                "chroma_host": None,
                "collection": collection,
            }
        )
