"""The `rag` command: ingest, ask, documents, serve."""

import argparse
import json
import logging
import sys
from pathlib import Path

from pydantic import ValidationError

from rag.core.errors import BadInput, LLMUnavailable, RagError
from rag.core.models import Answer
from rag.core.modes import MODES
from rag.core.settings import Settings
from rag.index.store import Filters


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings()
    except ValidationError as err:  # a bad RAG_* variable or .env entry: name it, no trace
        for problem in err.errors():
            name = "RAG_" + "_".join(str(part) for part in problem["loc"]).upper()
            print(f"error: {name}={problem.get('input')!r}: {problem['msg']}", file=sys.stderr)
        return 2
    try:
        return int(args.run(args, settings) or 0)
    except BadInput as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except LLMUnavailable as err:
        print(f"error: {err}", file=sys.stderr)
        for source in err.sources:
            print(
                f"  retrieved: {source.file} ({source.outlet or 'unknown outlet'})", file=sys.stderr
            )
        return 3
    except RagError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rag", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    ingest = commands.add_parser("ingest", help="index a folder of articles (txt, md, html)")
    ingest.add_argument("path", type=Path)
    ingest.add_argument(
        "--sync",
        action="store_true",
        help="drop files indexed from this folder that are no longer in it (files from other "
        "folders and uploads are kept)",
    )
    ingest.add_argument(
        "--dry-run",
        action="store_true",
        help="with --sync: list what would be dropped, change nothing",
    )
    ingest.set_defaults(run=_ingest)

    doctor = commands.add_parser("doctor", help="check the index and repair what can be")
    doctor.add_argument("--repair", action="store_true", help="apply the repairs it lists")
    doctor.set_defaults(run=_doctor)

    ask = commands.add_parser("ask", help="answer a question with cited sentences")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true", help="print the full answer object")
    ask.add_argument("--mode", choices=MODES, help="default: from settings")
    ask.add_argument("--top-k", type=int)
    _add_filter_args(ask)
    ask.set_defaults(run=_ask)

    summarize = commands.add_parser("summarize", help="a cited summary of files (or --all)")
    summarize.add_argument("files", nargs="*", metavar="FILE", help="indexed file names")
    summarize.add_argument("--all", action="store_true", help="summarise every indexed file")
    summarize.add_argument("--length", type=int, default=5, help="sentences (default 5)")
    summarize.add_argument("--mode", choices=MODES)
    summarize.add_argument("--json", action="store_true", help="print the full answer object")
    summarize.add_argument(
        "--timeline", action="store_true", help="a 'what happened' digest: points by date"
    )
    summarize.set_defaults(run=_summarize)

    evaluate = commands.add_parser(
        "eval", help="score answers on the facts file; gate on a baseline"
    )
    evaluate.add_argument("--facts", type=Path, default=Path("eval/facts.yaml"))
    evaluate.add_argument(
        "--conversations",
        type=Path,
        default=Path("eval/conversations.yaml"),
        help="multi-turn conversations and open questions (skipped if the file is missing)",
    )
    evaluate.add_argument(
        "--claims",
        type=Path,
        default=Path("eval/claims.yaml"),
        help="claims labelled faithful or not, for the verifier (skipped if the file is missing)",
    )
    evaluate.add_argument(
        "--alignment",
        type=Path,
        default=Path("eval/alignment_pairs.yaml"),
        help="sentence pairs labelled as reporting the same claim or not, for rag compare "
        "(skipped if the file is missing)",
    )
    evaluate.add_argument(
        "--corpus",
        type=Path,
        default=Path("data/articles"),
        help="the articles the facts are about (indexed in a scratch store)",
    )
    evaluate.add_argument("--mode", choices=MODES)
    evaluate.add_argument("--prompt", metavar="NAME@VERSION", help="answer prompt to use")
    evaluate.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a setting for this run (repeatable), e.g. top_k=3",
    )
    evaluate.add_argument(
        "--compare",
        nargs=2,
        metavar=("A", "B"),
        help="run two variants (NAME@VERSION or KEY=VALUE[,KEY=VALUE])",
    )
    evaluate.add_argument("--baseline", type=Path, help="fail on regression against this file")
    evaluate.add_argument("--tolerance", type=float, default=0.02)
    evaluate.add_argument("--write-baseline", type=Path, metavar="FILE")
    evaluate.add_argument("--repeats", type=int, default=1)
    evaluate.add_argument("--out", type=Path, default=Path("eval/out"))
    evaluate.set_defaults(run=_eval)

    compare = commands.add_parser("compare", help="what outlets agree on, report alone, frame")
    compare.add_argument("files", nargs="*", metavar="FILE", help="indexed files (default all)")
    compare.add_argument("--json", action="store_true", help="print the full comparison")
    compare.set_defaults(run=_compare)

    squad = commands.add_parser("eval-squad", help="benchmark on SQuAD 2.0 (dev-v2.0.json)")
    squad.add_argument("dataset", type=Path, help="path to dev-v2.0.json")
    squad.add_argument("--sample", type=int, default=500, help="questions (0 = all)")
    squad.add_argument("--seed", type=int, default=0)
    squad.add_argument("-k", type=int, default=6, help="retrieval depth for hit@k")
    squad.add_argument("--out", type=Path, default=Path("eval/out/squad.json"))
    squad.add_argument(
        "--split",
        choices=["all", "tune", "test"],
        default="all",
        help="ask only the questions of the reader's tuning or held-out (test) articles",
    )
    squad.add_argument(
        "--curve",
        action="store_true",
        help="answer everything and report abstention against the reader's threshold",
    )
    squad.set_defaults(run=_eval_squad)

    train = commands.add_parser(
        "train-reader", help="train the answer reader on SQuAD 2.0 (needs torch)"
    )
    train.add_argument("dataset", type=Path, help="path to dev-v2.0.json")
    train.add_argument("--out", type=Path, default=Path("eval/out/reader"), help="model directory")
    train.add_argument("--seed", type=int, default=13)
    train.add_argument("--epochs", type=int, default=2)
    train.add_argument(
        "--combiner-only",
        action="store_true",
        help="keep the model in --out; refit only its combiner and threshold (minutes, no torch)",
    )
    train.set_defaults(run=_train_reader)

    entail = commands.add_parser(
        "train-entailment",
        help="train the verifier's entailment model on SQuAD 2.0 articles (needs torch)",
    )
    entail.add_argument("dataset", type=Path, help="path to dev-v2.0.json")
    entail.add_argument(
        "--out", type=Path, default=Path("eval/out/entailment"), help="model directory"
    )
    entail.add_argument("--seed", type=int, default=13)
    entail.add_argument("--epochs", type=int, default=2)
    entail.set_defaults(run=_train_entailment)

    wordnet = commands.add_parser(
        "extract-wordnet", help="write rag/core/wordnet.json from a WordNet 3.0 dict folder"
    )
    wordnet.add_argument("dict_dir", type=Path, help="folder holding data.adj, data.verb...")
    wordnet.set_defaults(run=_extract_wordnet)

    docs = commands.add_parser("documents", help="list indexed files")
    docs.add_argument("--json", action="store_true")
    docs.set_defaults(run=_documents)

    serve = commands.add_parser("serve", help="serve the page and the API")
    serve.add_argument("--ingest", type=Path, metavar="PATH", help="index this folder first")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes sharing the index (each loads the models, ~450 MB); "
        "with more than one, serve the API only (the page keeps its sessions in one process)",
    )
    serve.set_defaults(run=_serve)
    return parser


def _add_filter_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--file", action="append", help="only this file (repeatable)")
    parser.add_argument("--outlet", action="append", help="only this outlet (repeatable)")
    parser.add_argument("--since", help="only articles dated on or after YYYY-MM-DD")
    parser.add_argument("--until", help="only articles dated on or before YYYY-MM-DD")


def _filters(args: argparse.Namespace) -> Filters | None:
    filters = Filters(
        files=args.file, outlets=args.outlet, date_from=args.since, date_to=args.until
    )
    return filters if any(vars(filters).values()) else None


def _pipeline(settings: Settings):  # type: ignore[no-untyped-def]
    from rag.pipeline import build_pipeline

    return build_pipeline(settings)


def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    if args.dry_run and not args.sync:
        raise BadInput("--dry-run goes with --sync")
    report = _pipeline(settings).ingest(args.path, sync=args.sync, dry_run=args.dry_run)
    print(report.summary())
    return 0


def _doctor(args: argparse.Namespace, settings: Settings) -> int:
    from rag.index.doctor import run_doctor

    lines, healthy = run_doctor(settings, args.repair)
    print("\n".join(lines))
    return 0 if healthy else 1


def _ask(args: argparse.Namespace, settings: Settings) -> int:
    pipeline = _pipeline(settings)
    if pipeline.store.count() == 0:
        raise BadInput("nothing is indexed yet: run `rag ingest FOLDER` first")
    answer = pipeline.ask(args.question, _filters(args), top_k=args.top_k, mode=args.mode)
    print(answer.model_dump_json(indent=2) if args.json else render_answer(answer))
    return 0


def _summarize(args: argparse.Namespace, settings: Settings) -> int:
    if not args.files and not args.all:
        raise BadInput("name files to summarise, or pass --all")
    files = None if args.all else args.files
    summary = _pipeline(settings).summarize(files, args.length, args.mode)
    if args.json:
        print(summary.model_dump_json(indent=2))
    else:
        print(render_timeline(summary) if args.timeline else render_answer(summary))
    return 0


def _eval(args: argparse.Namespace, settings: Settings) -> int:
    from rag.eval.cli import run_eval

    return run_eval(args, settings)


def _eval_squad(args: argparse.Namespace, settings: Settings) -> int:
    from rag.eval.squad import curve, operating_point, run_squad, split_titles

    if args.curve:
        # every window read, every question answered: the curve is drawn from the scores
        settings = settings.model_copy(
            update={"reader_threshold": 0.0, "reader_first_windows": settings.reader_windows}
        )
    articles = split_titles(args.split, settings.reader_model)
    outcome = run_squad(args.dataset, settings, args.sample, args.seed, args.k, articles=articles)
    if args.curve:
        outcome["curve"] = curve(outcome["results"])
        outcome["summary"]["operating_point_at_0.90_answered"] = operating_point(outcome["curve"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(outcome, indent=2))
    for key, value in outcome["summary"].items():
        print(f"{key}: {value}")
    print(f"results: {args.out}")
    return 0


def _train_reader(args: argparse.Namespace, settings: Settings) -> int:
    from rag.train.reader import Recipe, fit_combiner, run

    if not args.combiner_only:
        run(args.dataset, args.out, Recipe(seed=args.seed, epochs=args.epochs))
    card = fit_combiner(args.dataset, args.out, settings)
    print(json.dumps(card["window_scores"], indent=2))
    print(f"threshold (tuning articles): {card['threshold']}; model: {args.out}")
    return 0


def _train_entailment(args: argparse.Namespace, settings: Settings) -> int:
    from rag.train.entailment import Recipe, run

    card = run(args.dataset, args.out, Recipe(seed=args.seed, epochs=args.epochs))
    print(json.dumps(card["scores"], indent=2))
    print(f"threshold (tuning articles): {card['threshold']}; model: {args.out}")
    return 0


def _extract_wordnet(args: argparse.Namespace, settings: Settings) -> int:
    from rag.answer.entailment import WORDNET
    from rag.train.wordnet import write

    data = write(args.dict_dir, WORDNET)
    print(
        f"{len(data['antonyms'])} words with antonyms, "
        f"{len(data['proper_adjectives'])} proper adjectives -> {WORDNET}"
    )
    return 0


def _compare(args: argparse.Namespace, settings: Settings) -> int:
    from rag.analysis.compare_render import render_comparison

    comparison = _pipeline(settings).compare(args.files or None)
    print(comparison.model_dump_json(indent=2) if args.json else render_comparison(comparison))
    return 0


def render_timeline(summary: Answer) -> str:
    """Summary points (already in date order) each under the date of its earliest source."""
    dates = {s.file: s.date for s in summary.sources}
    lines = []
    for sentence in (s for s in summary.sentences if s.supported):
        known = sorted(d for c in sentence.citations if (d := dates.get(c.file)))
        marks = "".join(c.marker for c in sentence.citations)
        lines.append(f"{known[0] if known else 'undated':>10}  {sentence.text} {marks}")
    return "\n".join(lines)


def render_answer(answer: Answer) -> str:
    """The answer for a terminal: text, then each cited passage, then anything dropped."""
    lines = [answer.answer]
    quoted = {(c.file, c.start): c for s in answer.sentences if s.supported for c in s.citations}
    if quoted:
        lines.append("")
    for citation in quoted.values():
        lines.append(f"{citation.marker} \u201c{citation.quote}\u201d")
    dropped = [s for s in answer.sentences if not s.supported]
    if dropped:
        lines += ["", "Not supported by the cited sources (dropped):"]
        lines += [f"  - {s.text} ({s.reason})" for s in dropped]
    for note in (answer.fallback, answer.note):
        if note:
            lines += ["", f"note: {note}"]
    return "\n".join(lines)


def _documents(args: argparse.Namespace, settings: Settings) -> int:
    documents = _pipeline(settings).documents()
    if args.json:
        print(json.dumps([d.model_dump() for d in documents], indent=2))
        return 0
    for doc in documents:
        print(
            f"{doc.file}\t{doc.outlet or '-'}\t{doc.date or '-'}\t{doc.chunks} chunks\t{doc.title}"
        )
    return 0


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from rag.interfaces.api import create_app

    if args.workers < 1:
        raise BadInput("--workers must be 1 or more")
    host, port = args.host or settings.host, args.port or settings.port
    if args.workers > 1:
        if args.ingest:  # in a child process: the workers' supervisor keeps no models loaded
            _ingest_in_a_child(args.ingest)
        print(
            f"serving the API on http://{host}:{port}/v1 with {args.workers} workers "
            f"(docs on http://{host}:{port}/docs)",
            flush=True,
        )
        uvicorn.run(
            "rag.interfaces.api:create_api",
            factory=True,
            host=host,
            port=port,
            workers=args.workers,
            log_level="warning",
        )
        return 0
    pipeline = _pipeline(settings)
    if args.ingest:
        print(pipeline.ingest(args.ingest).summary(), flush=True)
    print(
        f"serving the page on http://{host}:{port}/ and the API docs on http://{host}:{port}/docs",
        flush=True,
    )
    uvicorn.run(create_app(settings, pipeline), host=host, port=port, log_level="warning")
    return 0


def _ingest_in_a_child(folder: Path) -> None:
    import subprocess

    done = subprocess.run([sys.executable, "-m", "rag.interfaces.cli", "ingest", str(folder)])
    if done.returncode:
        raise BadInput(f"indexing {folder} failed (exit {done.returncode})")


if __name__ == "__main__":
    sys.exit(main())
