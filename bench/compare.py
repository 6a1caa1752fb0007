"""How long `rag compare` takes as the number of files grows.

    .venv/bin/python bench/compare.py ../shared/bench/squad-v2/dev-v2.0.json --files 25,50,100,200

The files are news-sized: five consecutive SQuAD paragraphs each (about 25 sentences; see
--paragraphs), and for every third one a second version (an update with a paragraph added;
see --update-every), so that comparisons find shared claims and single-source ones (undated,
with no outlet, the updates are not listed as versions of one story). Everything is indexed
once; each size is then compared in a fresh process (sentence vectors are not cached across
sizes), and the time is split into embedding the sentences and the rest (alignment,
conflicts, framing, duplicates).
A size is skipped once the previous one took longer than --stop-after seconds.
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from _common import RESULTS, add_step_arguments, child, machine, peak_rss_mb, table, write_report


def news_sized_files(dataset: Path, folder: Path, size: int, update_every: int) -> list[str]:
    """SQuAD articles cut into files of `size` paragraphs; every `update_every`-th file also
    has an updated version (a paragraph added)."""
    data = json.loads(dataset.read_text(encoding="utf-8"))["data"]
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for article in data:
        paragraphs = [p["context"] for p in article["paragraphs"]]
        for n in range(0, len(paragraphs) - size + 1, size):
            part = paragraphs[n : n + size]
            stem = f"{article['title'][:40]}-{n // size:02d}"
            names.append(_write(folder / f"{stem}.txt", part))
            if (len(names) - 2) % update_every == 0:
                update = [*part[:2], paragraphs[(n + 7) % len(paragraphs)], *part[2:]]
                names.append(_write(folder / f"{stem}.update.txt", update))
    return names


def _write(path: Path, paragraphs: list[str]) -> str:
    path.write_text("\n\n".join(paragraphs) + "\n", encoding="utf-8")
    return path.name


def step_compare(data: Path, files: list[str]) -> dict:
    """Compare these files in this (fresh) process."""
    from rag.core.settings import Settings
    from rag.pipeline import build_pipeline

    settings = Settings(data_dir=data, collection="compare", max_files_per_request=len(files))
    pipeline = build_pipeline(settings)
    embed = pipeline.answers.vectors.embedder.embed
    spent = {"embed": 0.0}

    def timed(texts):  # type: ignore[no-untyped-def]
        began = time.perf_counter()
        try:
            return embed(texts)
        finally:
            spent["embed"] += time.perf_counter() - began

    pipeline.answers.vectors.embedder.embed = timed
    began = time.perf_counter()
    comparison = pipeline.compare(files)
    seconds = time.perf_counter() - began
    return {
        "files": len(files),
        "seconds": round(seconds, 1),
        "embed_seconds": round(spent["embed"], 1),
        "corroborated": len(comparison.corroborated),
        "single_source": len(comparison.single_source),
        "versions": len(comparison.versions),
        "peak_rss_mb": round(peak_rss_mb()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("squad", type=Path, nargs="?", help="SQuAD 2.0 dev-v2.0.json")
    parser.add_argument("--files", default="25,50,100,200", help="comparison sizes")
    parser.add_argument("--stop-after", type=float, default=600.0)
    parser.add_argument("--paragraphs", type=int, default=5, help="SQuAD paragraphs per file")
    parser.add_argument("--update-every", type=int, default=3, help="every Nth file updated")
    parser.add_argument("--name", default="compare", help="report name in bench/results")
    parser.add_argument("--out", type=Path, default=RESULTS)
    add_step_arguments(parser)
    args = parser.parse_args()
    if args.step:
        names = json.loads(args.arg)
        print(json.dumps(step_compare(args.data, names)))
        return
    from rag.core.settings import Settings
    from rag.pipeline import build_pipeline

    with tempfile.TemporaryDirectory() as scratch:
        folder, data = Path(scratch) / "files", Path(scratch) / "data"
        names = news_sized_files(args.squad, folder, args.paragraphs, args.update_every)
        report = build_pipeline(Settings(data_dir=data, collection="compare")).ingest(folder)
        print(report.summary(), file=sys.stderr)
        rows = []
        for size in [int(n) for n in args.files.split(",")]:
            if size > len(names) or (rows and rows[-1]["seconds"] > args.stop_after):
                break
            chosen = json.dumps(names[:size])
            rows.append(
                child(Path(__file__), "--step", "compare", "--data", str(data), "--arg", chosen)
            )
            print(rows[-1], file=sys.stderr)
    result = {
        "machine": machine(),
        "files_available": len(names),
        "paragraphs_per_file": args.paragraphs,
        "update_every": args.update_every,
        "runs": rows,
    }
    header = ["files", "seconds", "embedding s", "rest s", "shared claims", "single", "versions"]
    lines = [
        [
            r["files"],
            r["seconds"],
            r["embed_seconds"],
            round(r["seconds"] - r["embed_seconds"], 1),
            r["corroborated"],
            r["single_source"],
            r["versions"],
        ]
        for r in rows
    ]
    title = (
        f"# rag compare as files grow ({result['machine']['date']}; {args.paragraphs} SQuAD "
        f"paragraphs per file, every {args.update_every} updated)\n\n"
    )
    write_report(args.name, args.out, result, title + table(header, lines))


if __name__ == "__main__":
    main()
