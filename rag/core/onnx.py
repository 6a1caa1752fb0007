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
