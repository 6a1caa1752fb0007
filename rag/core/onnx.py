"""ONNX Runtime sessions for the bundled models, on CPU."""

from pathlib import Path


def cpu_session(path: Path):  # type: ignore[no-untyped-def]
    """A CPU session that sleeps rather than spins between operators: a server runs several
    answers at once, and spinning threads would take the cores the others need."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def single_feed(encoding) -> dict:  # type: ignore[no-untyped-def]
    """The inputs of a BERT-style ONNX model for one tokenizer encoding (a batch of one)."""
    import numpy as np

    return {
        "input_ids": np.array([encoding.ids], dtype=np.int64),
        "attention_mask": np.array([encoding.attention_mask], dtype=np.int64),
        "token_type_ids": np.array([encoding.type_ids], dtype=np.int64),
    }
