"""`rag eval`: build the variants, run the suite, print the table, write reports, apply the gate."""

import argparse
import json
import tempfile
from pathlib import Path

from rag.core.errors import BadInput
from rag.core.models import Chunk
from rag.core.settings import Settings
from rag.eval.alignment import load_pairs, run_alignment
from rag.eval.claims import run_claims
from rag.eval.conversations import load_conversations, run_conversations
from rag.eval.harness import load_facts, run_suite
from rag.eval.report import baseline_of, flipped, gate, table, write_reports
from rag.index.embedding import Embedder
from rag.pipeline import build_pipeline


def run_eval(args: argparse.Namespace, settings: Settings) -> int:
    """Exit 0 when the gate passes (or there is none), 1 when it fails."""
    _check_paths(args)
    suite = load_facts(args.facts)
    base = _apply(settings, args.set, args.prompt, args.mode)
    variants = [("current", base)]
    if args.compare:
        variants = [(spec, _apply(base, *_parse_variant(spec))) for spec in args.compare]
    with tempfile.TemporaryDirectory() as scratch:
        shared = build_pipeline(base.scratch(Path(scratch), "eval"))
        report = shared.ingest(args.corpus)
        if not report.added:
            raise BadInput(f"nothing to index in {args.corpus}")
        runs = []
        for label, variant in variants:
            pipeline = build_pipeline(
                variant.model_copy(update={"data_dir": Path(scratch)}),
                shared.store,
                shared.embedder,
            )
            run = run_suite(pipeline, suite, label, args.repeats)
            if args.conversations and args.conversations.exists():
                talk = run_conversations(pipeline, load_conversations(args.conversations))
                run["aggregates"].update(talk["aggregates"])
                run["conversations"] = talk["cases"]
            if getattr(args, "claims", None) and args.claims.exists():
                checked = run_claims(args.claims, variant)
                run["aggregates"].update(checked["aggregates"])
                run["claims"] = checked["cases"]
            if getattr(args, "alignment", None) and args.alignment.exists():
                pairs, folders = load_pairs(args.alignment)
                corpora = _indexed(folders, variant, Path(scratch), shared.embedder)
                aligned = run_alignment(pairs, corpora, pipeline.answers.vectors)
                run["aggregates"].update(aligned["aggregates"])
                run["alignment"] = aligned["cases"]
            runs.append(run)
    print(table(runs))
    if len(runs) == 2:
        print("\nCases that flipped:\n" + ("\n".join(flipped(*runs)) or "none"))
    problems = None
    if args.baseline:
        problems = gate(runs[-1], json.loads(args.baseline.read_text()), args.tolerance)
        print("\nGate: " + ("passed" if not problems else "FAILED"))
        for problem in problems:
            print(f"  - {problem}")
    written = write_reports(runs, args.out, problems)
    print(f"\nreports: {', '.join(str(p) for p in written)}")
    if args.write_baseline:
        args.write_baseline.write_text(json.dumps(baseline_of(runs[-1]), indent=2) + "\n")
        print(f"baseline written to {args.write_baseline}")
    return 1 if problems else 0


def _indexed(
    folders: dict[str, Path], settings: Settings, scratch: Path, embedder: Embedder
) -> dict[str, dict[str, list[Chunk]]]:
    """Each labelled corpus indexed in a scratch store of its own: its chunks, by file."""
    corpora = {}
    for name, folder in folders.items():
        if not folder.is_dir():
            raise BadInput(f"--alignment: no corpus folder {folder} (for {name!r})")
        pipeline = build_pipeline(
            settings.scratch(scratch / f"align-{name}", "align"), None, embedder
        )
        pipeline.ingest(folder)
        store = pipeline.store
        corpora[name] = {d.file: store.finished(store.chunks_of(d.file)) for d in store.documents()}
    return corpora


def _check_paths(args: argparse.Namespace) -> None:
    """Refuse before minutes of work: the facts and baseline must exist, --out must be a folder."""
    for flag, path in (("--facts", args.facts), ("--baseline", args.baseline)):
        if path is not None and not path.is_file():
            raise BadInput(f"{flag}: no file at {path}")
    if args.out is not None and args.out.exists() and not args.out.is_dir():
        raise BadInput(f"--out: {args.out} is a file; give a folder for the reports")


def _parse_variant(spec: str) -> tuple[list[str], str | None, None]:
    if "=" in spec:
        return spec.split(","), None, None
    return [], spec, None


def _apply(
    settings: Settings, overrides: list[str], prompt: str | None, mode: str | None
) -> Settings:
    """A copy of settings with KEY=VALUE overrides, a prompt and a mode applied (validated)."""
    values = settings.model_dump()
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or key not in values:
            raise BadInput(f"bad --set {item!r}: use KEY=VALUE with a setting name")
        values[key] = value
    if prompt:
        values["answer_prompt"] = prompt
    if mode:
        values["mode"] = mode
    return Settings.model_validate(values)
