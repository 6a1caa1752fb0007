"""The answer reader: a small cross-encoder that reads a question with a few sentences and says
whether they answer it, and where (the shortest span: a name, a number, a date).

It is the bundled MiniLM fine-tuned on SQuAD 2.0 (`rag train-reader`, rag/train/reader.py) with a
SQuAD-2-style head: a start and an end score per token, the [CLS] token standing for "no answer
here". It runs on ONNX Runtime; torch is needed only to train it.
"""

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from rag.core.errors import BadInput
from rag.core.onnx import cpu_session, single_feed
from rag.core.text import without_wh_contraction

MODEL_DIR = Path(__file__).resolve().parent.parent / "models" / "reader"
MAX_TOKENS = 128
MAX_ANSWER_TOKENS = 24


@dataclass(frozen=True)
class Reading:
    """What the reader found in one window: a span (character offsets into the window's text)
    and how likely it is that the window answers the question (0..1)."""

    probability: float
    margin: float  # best span score minus the "no answer" score, before calibration
    start: int
    end: int


def tokenizer(max_tokens: int = MAX_TOKENS):  # type: ignore[no-untyped-def]
    """The bundled model's WordPiece tokenizer, truncating only the passage side."""
    from tokenizers import Tokenizer

    from rag.index.model_export import bundled_model_dir

    tok = Tokenizer.from_file(str(bundled_model_dir() / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_tokens, strategy="only_second")
    return tok


def encode(tok, question: str, passage: str):  # type: ignore[no-untyped-def]
    """[CLS] question [SEP] passage [SEP], with character offsets into passage."""
    return tok.encode(question, passage)


def best_span(
    starts: np.ndarray,
    ends: np.ndarray,
    encoding,
    longest: int = MAX_ANSWER_TOKENS,
    fits: Callable[[int, int], bool] | None = None,
    tries: int = 500,
) -> tuple[float, int, int]:
    """(margin, char start, char end) of the best passage span over the "no answer" score;
    with `fits` (char start, end -> can this span answer?), the best of the `tries` best spans
    that fits, else the best."""
    sequence = encoding.sequence_ids
    passage = np.array([s == 1 for s in sequence] + [False] * (len(starts) - len(sequence)))
    s = np.where(passage, starts, -np.inf)
    e = np.where(passage, ends, -np.inf)
    n = len(s)
    # scores[i, j] = s[i] + e[j] for i <= j < i + longest
    scores = s[:, None] + e[None, :]
    i, j = np.indices((n, n))
    scores[(j < i) | (j >= i + longest)] = -np.inf
    flat = int(np.argmax(scores))
    a, b = divmod(flat, n)
    if not np.isfinite(scores[a, b]):
        return -math.inf, 0, 0
    null = float(starts[0] + ends[0])
    offsets = encoding.offsets
    if fits is not None and not fits(offsets[a][0], offsets[b][1]):
        ranked = np.argsort(-scores, axis=None)[:tries]
        for candidate in ranked:
            first, last = divmod(int(candidate), n)
            if np.isfinite(scores[first, last]) and fits(offsets[first][0], offsets[last][1]):
                a, b = first, last
                break
    return float(scores[a, b]) - null, offsets[a][0], offsets[b][1]


def whole_words(text: str, start: int, end: int) -> tuple[int, int]:
    """The span widened to the words it cuts: word pieces can start a span inside one
    ("brother's bicycle" read from "s bicycle")."""
    if start >= end:
        return start, end
    while start > 0 and (
        text[start - 1].isalnum()
        or (text[start - 1] in "'’" and start > 1 and text[start - 2].isalnum())
    ):
        start -= 1
    while end < len(text) and text[end].isalnum():
        end += 1
    return start, end


def as_asked(question: str) -> str:
    """The question in the form of SQuAD's, which the reader was trained on: "what is", not
    "what's", and ending in a question mark. Typed without one ("what is the death toll of the
    war"), the reader's confidence in the same span fell from 0.20 to 0.14, below its
    threshold."""
    question = _HAS.sub(r"\1 has ", question.rstrip())  # "what's happened"
    question = without_wh_contraction(question)  # "what's the toll": 0.13, "what is" 0.20
    if job := _DOES_FOR_A_LIVING.match(question):  # read "oxidising bleach" as her work
        return f"What is {job.group('named') or job.group('anyone')}'s job?"
    return question if question.endswith(("?", ".", "!")) else question + "?"


_HAS = re.compile(r"\b(what|who|where|how|when|why)['’]s\s+(?=\w+ed\b)", re.IGNORECASE)
_DOES_FOR_A_LIVING = re.compile(  # "What does Imogen Hale do?", "what does she do for a living"
    r"^\s*(?i:what\s+does)\s+(?:(?P<named>[A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*)*)\s+(?i:do)"
    r"|(?P<anyone>.+?)\s+(?i:do\s+for\s+(?:a\s+living|work|a\s+job)))\s*[?.!]*\s*$"
)


class Reader:
    """The shipped reader model; probabilities calibrated on the tuning articles."""

    def __init__(self, model_dir: Path = MODEL_DIR):
        card = json.loads((model_dir / "reader.json").read_text(encoding="utf-8"))
        self.scale, self.bias = card["calibration"]["scale"], card["calibration"]["bias"]
        combiner = card.get("combiner") or {}
        self.weights = np.array(combiner.get("weights", []), dtype=np.float64)
        self.combiner_bias = float(combiner.get("bias", 0.0))
        self.threshold: float = card["threshold"]
        self.max_tokens: int = card.get("max_tokens", MAX_TOKENS)
        self.session = _session(model_dir / card["file"])
        self.tok = tokenizer(self.max_tokens)

    def read(
        self, question: str, passages: list[str], fits: Callable[[str], bool] | None = None
    ) -> list[Reading]:
        """One reading per passage: its best span, or with `fits` (span text -> can it answer
        this question?) its best span that fits, among the next best. Each passage runs alone:
        the int8 model quantises its activations per call, so a passage's score never depends
        on what it was batched with."""
        readings = []
        question = as_asked(question)
        for passage in passages:
            encoding = encode(self.tok, question, passage)
            feed = single_feed(encoding)
            logits = self.session.run(None, feed)[0][0]
            fits_here = (lambda a, b, p=passage: fits(p[a:b])) if fits is not None else None
            margin, start, end = best_span(logits[:, 0], logits[:, 1], encoding, fits=fits_here)
            start, end = whole_words(passage, start, end)
            readings.append(Reading(self.probability(margin), margin, start, end))
        return readings

    def combined(self, features: list[float], reading: Reading) -> float:
        """P(this window's answer is right): the reader's margin with the evidence ranking's
        scores (rag.answer.extract.FEATURES), weights fitted on the tuning articles; the
        calibrated margin alone when the card has no combiner."""
        if not len(self.weights):
            return reading.probability
        z = float(self.weights @ np.asarray(features, dtype=np.float64)) + self.combiner_bias
        return 1.0 / (1.0 + math.exp(-z))

    def probability(self, margin: float) -> float:
        if not math.isfinite(margin):
            return 0.0
        return 1.0 / (1.0 + math.exp(-(self.scale * margin + self.bias)))


@lru_cache(maxsize=2)
def _session(path: Path):  # type: ignore[no-untyped-def]
    return cpu_session(path)


@lru_cache(maxsize=4)
def load_reader(model_dir: Path | None = None) -> Reader:
    """The reader in model_dir (default: the one shipped with the package), loaded once."""
    model_dir = model_dir or MODEL_DIR
    if not (model_dir / "reader.json").exists():
        raise BadInput(f"no reader model in {model_dir} (reader.json is missing)")
    return Reader(model_dir)


def window_bounds(sentences: list[tuple[int, int]], i: int) -> tuple[int, int]:
    """Sentence i with one sentence either side: an answer often runs into the next sentence,
    and the one before says who "he" or "it" is."""
    return sentences[max(0, i - 1)][0], sentences[min(len(sentences) - 1, i + 1)][1]
