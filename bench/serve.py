"""The API under concurrent load: `rag serve` (1 or more workers), clients in this process.

    .venv/bin/python bench/serve.py [--clients 20] [--seconds 60] [--workers 1,2,4]
    .venv/bin/python bench/serve.py --index DIR --collection squad --squad dev-v2.0.json

By default the server indexes the sample articles and the clients ask the questions of
eval/facts.yaml; with --index it serves an index built beforehand (bench/scale.py or
bench/query.py leave one at the size you choose) and the clients ask 300 seeded SQuAD questions.
Answers are extractive. After one warm-up pass over the questions, `clients` threads post them
to /v1/answer in a loop until `requests` were sent or `seconds` passed. The RSS of the server's
processes (all workers) is sampled throughout.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import yaml
from _common import RESULTS, ROOT, SAMPLE, machine, percentiles, rss_mb, table, write_report


def questions(squad: Path | None) -> list[str]:
    if squad:
        import random

        from rag.eval.squad import write_articles

        with tempfile.TemporaryDirectory() as scratch:
            asked = [q.question for q in write_articles(squad, Path(scratch)) if not q.impossible]
        return random.Random(0).sample(asked, 300)
    facts = yaml.safe_load((ROOT / "eval" / "facts.yaml").read_text())
    return [case["question"] for case in facts["cases"]]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    data: Path, port: int, log: Path, workers: int, collection: str | None, ingest: bool
) -> subprocess.Popen:
    env = {**os.environ, "RAG_DATA_DIR": str(data), "RAG_MODE": "extractive"}
    env.update(HF_HUB_OFFLINE="1", ANONYMIZED_TELEMETRY="False")
    if collection:
        env["RAG_COLLECTION"] = collection
    command = [str(Path(sys.executable).parent / "rag"), "serve", "--port", str(port)]
    command += ["--workers", str(workers)] + (["--ingest", str(SAMPLE)] if ingest else [])
    process = subprocess.Popen(
        command, stdout=log.open("w"), stderr=subprocess.STDOUT, env=env, cwd=data.parent
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"rag serve exited:\n{log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).is_success:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    process.kill()
    raise TimeoutError("rag serve did not become ready in 180 s")


def load(url: str, asked: list[str], clients: int, seconds: float, requests: int) -> dict:
    """Closed loop: every client sends its next request as soon as the last one returns."""
    lock = threading.Lock()
    sent = 0
    latencies: list[float] = []
    statuses: Counter = Counter()
    deadline = time.monotonic() + seconds

    def client(number: int) -> None:
        nonlocal sent
        with httpx.Client(timeout=30) as http:
            i = number
            while time.monotonic() < deadline:
                with lock:
                    if sent >= requests:
                        return
                    sent += 1
                began = time.perf_counter()
                try:
                    status = http.post(url, json={"question": asked[i % len(asked)]}).status_code
                except httpx.HTTPError as err:
                    status = type(err).__name__
                elapsed = (time.perf_counter() - began) * 1000
                with lock:
                    latencies.append(elapsed)
                    statuses[status] += 1
                i += clients

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    return {
        "requests": len(latencies),
        "seconds": round(wall, 2),
        "throughput_rps": round(len(latencies) / wall, 1),
        "statuses": {str(k): v for k, v in statuses.items()},
        "errors": sum(v for k, v in statuses.items() if k != 200),
        "latency": percentiles(latencies),
    }


def tree_rss_mb(pid: int) -> float:
    """The RSS of a process and all its descendants (the workers of a multi-worker server)."""
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        try:
            total += rss_mb(current)
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def sample_rss(pid: int, stop: threading.Event, samples: list[float]) -> None:
    while not stop.is_set():
        samples.append(tree_rss_mb(pid))
        stop.wait(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--workers", default="1", help="comma-separated worker counts to measure")
    parser.add_argument("--index", type=Path, help="an existing RAG_DATA_DIR to serve")
    parser.add_argument("--collection", help="its collection (RAG_COLLECTION)")
    parser.add_argument("--squad", type=Path, help="dev-v2.0.json: ask SQuAD questions")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--name", default="serve", help="report name in the results folder")
    args = parser.parse_args()

    asked = questions(args.squad)
    result: dict = {"machine": machine(), "clients": args.clients, "runs": []}
    result["corpus"] = str(args.index or "the sample articles")
    for workers in map(int, args.workers.split(",")):
        with tempfile.TemporaryDirectory() as scratch:
            data = args.index or Path(scratch) / "rag"
            port = free_port()
            log = Path(scratch) / "server.log"
            server = start_server(data, port, log, workers, args.collection, not args.index)
            try:
                result["runs"].append(measure(server, port, asked, args, workers))
            finally:
                server.terminate()
                server.wait(timeout=30)
        print(json.dumps(result["runs"][-1]), file=sys.stderr)
    write_report(args.name, args.out, result, render(result))


def measure(  # type: ignore[no-untyped-def]
    server: subprocess.Popen, port: int, asked: list[str], args, workers: int
) -> dict:
    url = f"http://127.0.0.1:{port}/v1/answer"
    warmup = load(url, asked, max(1, workers), 300, len(asked))
    rss_after_warmup = tree_rss_mb(server.pid)
    samples: list[float] = []
    stop = threading.Event()
    sampler = threading.Thread(target=sample_rss, args=(server.pid, stop, samples))
    sampler.start()
    loaded = load(url, asked, args.clients, args.seconds, args.requests)
    stop.set()
    sampler.join()
    health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code
    memory = {
        "after_warmup_mb": round(rss_after_warmup),
        "max_mb": round(max(samples)),
        "end_mb": round(samples[-1]),
    }
    return {
        "workers": workers,
        "warmup": warmup,
        "load": loaded,
        "server_rss": memory,
        "healthz_after": health,
    }


def render(result: dict) -> str:
    header = ["workers", "clients", "requests", "seconds", "req/s", "p50 ms", "p95 ms", "p99 ms"]
    header += ["errors", "RSS warm → max → end MB (all workers)"]
    rows = []
    for run in result["runs"]:
        load, memory = run["load"], run["server_rss"]
        rows.append(
            [run["workers"], result["clients"], load["requests"], load["seconds"]]
            + [load["throughput_rps"], load["latency"]["p50_ms"], load["latency"]["p95_ms"]]
            + [load["latency"]["p99_ms"], load["errors"]]
            + [f"{memory['after_warmup_mb']} → {memory['max_mb']} → {memory['end_mb']}"]
        )
    return (
        f"# Serve benchmark ({result['machine']['date']}, {result['machine']['cpus']} CPUs)\n\n"
        f"`rag serve --workers N` on {result['corpus']} (extractive answers) under a closed "
        "loop of concurrent clients in another process, POST /v1/answer.\n\n" + table(header, rows)
    )


if __name__ == "__main__":
    main()
