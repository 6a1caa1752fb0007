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


@pytest.mark.slow
def test_an_installed_wheel_carries_every_prompt(tmp_path):
    """`pip install .` (not editable) must ship the prompts: LLM mode needs them."""
    import subprocess
    import sys

    from tests.helpers import ROOT

    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "-w", str(tmp_path / "dist"), str(ROOT)], check=True
    )
    wheel = next((tmp_path / "dist").glob("citerag-*.whl"))
    target = tmp_path / "installed"
    subprocess.run([*pip, "install", "--no-deps", "--target", str(target), str(wheel)], check=True)
    names = sorted(p.stem for p in (ROOT / "prompts").glob("*.md"))
    script = (
        "import rag, sys; from rag.answer.prompts import load_prompt; "
        "from rag.core.settings import Settings; d = Settings().prompts_dir; "
        "assert d.is_relative_to(sys.argv[1]), (rag.__file__, d); "
        "print([load_prompt(d, n).ref for n in sys.argv[2:]])"
    )
    env = {"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    shown = subprocess.run(
        [sys.executable, "-c", script, str(target), *names],
        cwd=tmp_path,  # outside the repository
        env=env,
        capture_output=True,
        text=True,
    )
    assert shown.returncode == 0, shown.stderr
    assert all(name in shown.stdout for name in names) and names
