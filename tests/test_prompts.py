from pathlib import Path

import pytest

from rag.answer.prompts import MissingVariables, load_prompt
from rag.core.errors import BadInput

PROMPTS = Path(__file__).resolve().parent.parent / "prompts"


def test_answer_prompt_renders_system_and_user_messages():
    prompt = load_prompt(PROMPTS, "answer")
    messages = prompt.render(question="Who?", passages="[1] text")
    assert [m["role"] for m in messages] == ["system", "user"]
    assert "Question: Who?" in messages[1]["content"] and "[1] text" in messages[1]["content"]
    assert prompt.ref == "answer@1"


def test_a_missing_variable_raises():
    with pytest.raises(MissingVariables, match="passages"):
        load_prompt(PROMPTS, "answer").render(question="Who?")


def test_an_unknown_prompt_or_version_is_a_clear_error():
    with pytest.raises(BadInput, match="no prompt"):
        load_prompt(PROMPTS, "nope")
    with pytest.raises(BadInput, match="answer@99"):
        load_prompt(PROMPTS, "answer@99")
