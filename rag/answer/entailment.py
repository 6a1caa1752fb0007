"""Does a passage state a claim? A small cross-encoder reads (claim, passage) and gives the
probability that the passage supports the claim.

It is the bundled MiniLM fine-tuned on claims made from SQuAD 2.0 articles' sentences and
FactCC-style corruptions of them (`rag train-entailment`, rag/train/entailment.py). It runs on
ONNX Runtime; torch is needed only to train it.
"""

import json
import math
from functools import lru_cache
from pathlib import Path

from rag.core.errors import BadInput
from rag.core.onnx import cpu_session, single_feed

MODEL_DIR = Path(__file__).resolve().parent.parent / "models" / "entailment"
WORDNET = Path(__file__).resolve().parent.parent / "core" / "wordnet.json"


@lru_cache(maxsize=1)
def load_lexicon() -> dict:
    """WordNet's antonyms and proper adjectives (rag/core/wordnet.json)."""
    return json.loads(WORDNET.read_text(encoding="utf-8"))


def run_one(session, tok, claim: str, premise: str) -> float:  # type: ignore[no-untyped-def]
    """The model's raw logit for one (claim, premise). One pair per call: the int8 model
    quantises activations per call, so a score never depends on its batch."""
    enc = tok.encode(claim, premise)
    feed = single_feed(enc)
    return float(session.run(None, feed)[0][0])


def pair_tokenizer(max_tokens: int):  # type: ignore[no-untyped-def]
    """The bundled WordPiece tokenizer for (claim, premise), trimming the longer side first."""
    from rag.answer.reader import tokenizer

    tok = tokenizer(max_tokens)
    tok.enable_truncation(max_tokens, strategy="longest_first")
    return tok


class Entailment:
    """The shipped entailment model; probabilities calibrated on the tuning articles."""

    def __init__(self, model_dir: Path = MODEL_DIR):
        card = json.loads((model_dir / "entailment.json").read_text(encoding="utf-8"))
        self.scale, self.bias = card["calibration"]["scale"], card["calibration"]["bias"]
        self.threshold: float = card["threshold"]
        self.session = cpu_session(model_dir / card["file"])
        self.tok = pair_tokenizer(card.get("max_tokens", 160))

    def probability(self, claim: str, premise: str) -> float:
        z = self.scale * run_one(self.session, self.tok, claim, premise) + self.bias
        return 1.0 / (1.0 + math.exp(-z))


@lru_cache(maxsize=2)
def load_entailment(model_dir: Path | None = None) -> Entailment:
    model_dir = model_dir or MODEL_DIR
    if not (model_dir / "entailment.json").exists():
        raise BadInput(f"no entailment model in {model_dir} (entailment.json is missing)")
    return Entailment(model_dir)
