"""The answer modes, in one place: which exist, which are configured, and the default.

Every interface (CLI choices, API schema, the page's options, chat model names) derives its
choices from here, so a mode that is not configured is never offered and never silently falls
back to a default endpoint.
"""

import os
from typing import Literal

from rag.core.errors import BadInput
from rag.core.settings import Settings

Mode = Literal["extractive", "llm", "llamacpp"]
MODES: tuple[str, ...] = ("extractive", "llm", "llamacpp")


def llm_key(settings: Settings) -> str | None:
    """The LLM endpoint's key: RAG_LLM_API_KEY, else OPENAI_API_KEY."""
    return settings.llm_api_key or os.environ.get("OPENAI_API_KEY") or None


def is_configured(mode: str, settings: Settings) -> bool:
    """extractive always; llm with an endpoint or a key; llamacpp with a model file."""
    if mode == "llm":
        return bool(settings.llm_base_url or llm_key(settings))
    if mode == "llamacpp":
        return settings.llm_model_path is not None
    return mode == "extractive"


def available_modes(settings: Settings) -> list[str]:
    """The modes this configuration can answer in, extractive first."""
    return [mode for mode in MODES if is_configured(mode, settings)]


def default_mode(settings: Settings) -> str:
    """RAG_MODE, or for auto: llm when an endpoint or key is set, else extractive."""
    if settings.mode != "auto":
        return settings.mode
    return "llm" if is_configured("llm", settings) else "extractive"


def checked_mode(mode: str | None, settings: Settings) -> str:
    """The mode to use for a request; one that is unknown or not configured is refused."""
    mode = mode or default_mode(settings)
    if mode not in MODES:
        raise BadInput(f"unknown mode {mode!r}; choose one of: {', '.join(MODES)}")
    if not is_configured(mode, settings):
        raise BadInput(f"mode {mode!r} is not configured: {_HOW_TO[mode]}")
    return mode


_HOW_TO = {
    "llm": "set RAG_LLM_BASE_URL (an OpenAI-compatible endpoint) or RAG_LLM_API_KEY / "
    "OPENAI_API_KEY (OpenAI itself)",
    "llamacpp": "set RAG_LLM_MODEL_PATH to a .gguf file",
}
