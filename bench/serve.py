"""The API under concurrent load: `rag serve` (1 or more workers), clients in this process.

    .venv/bin/python bench/serve.py [--clients 20] [--seconds 60] [--workers 1,2,4]
    .venv/bin/python bench/serve.py --index DIR --collection squad --squad dev-v2.0.json
    .venv/bin/python bench/serve.py --servers 2 [--index DIR --collection squad --squad ...]

By default the server indexes the sample articles and the clients ask the questions of
eval/facts.yaml; with --index it serves an index built beforehand (bench/scale.py or
bench/query.py leave one at the size you choose) and the clients ask 300 seeded SQuAD questions.
Answers are extractive. After one warm-up pass over the questions, `clients` threads post them
to /v1/answer in a loop until `requests` were sent or `seconds` passed. The RSS of the server's
processes (all workers) is sampled throughout.

With --servers N, a `chroma run` server on 127.0.0.1 holds the store (a copy of --index's, or
the sample articles ingested by the first server) and N separate `rag serve` processes, each
with its own data dir, share it; the clients are dealt out among them. Half way through the
load another process runs `rag ingest` on a new file, and every server is asked about it until
it answers from that file: the seconds each one answered stale are reported.
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from contextlib import ExitStack
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


def server_env(data: Path, collection: str | None, chroma: str | None) -> dict:
    env = {**os.environ, "RAG_DATA_DIR": str(data), "RAG_MODE": "extractive"}
    env.update(HF_HUB_OFFLINE="1", ANONYMIZED_TELEMETRY="False")
    if collection:
        env["RAG_COLLECTION"] = collection
    if chroma:
        env["RAG_CHROMA_URL"] = chroma
    return env


def start_server(
    data: Path,
    port: int,
    log: Path,
    workers: int,
    collection: str | None,
    ingest: bool,
    chroma: str | None = None,
) -> subprocess.Popen:
    env = server_env(data, collection, chroma)
    command = [str(Path(sys.executable).parent / "rag"), "serve", "--port", str(port)]
    command += ["--workers", str(workers)] + (["--ingest", str(SAMPLE)] if ingest else [])
    data.parent.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        command, stdout=log.open("w"), stderr=subprocess.STDOUT, env=env, cwd=data.parent
    )
    return wait_ready(process, f"http://127.0.0.1:{port}/readyz", log)


def wait_ready(process: subprocess.Popen, url: str, log: Path) -> subprocess.Popen:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited:\n{log.read_text()[-2000:]}")
        try:
            if httpx.get(url, timeout=2).is_success:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    process.kill()
    raise TimeoutError(f"{process.args[0]} did not become ready in 180 s")


def start_chroma(path: Path, log: Path) -> tuple[subprocess.Popen, str]:
    """A `chroma run` server on 127.0.0.1 over the store at path."""
    port = free_port()
    command = [str(Path(sys.executable).parent / "chroma"), "run", "--path", str(path)]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    process = subprocess.Popen(command, stdout=log.open("w"), stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    return wait_ready(process, f"{url}/api/v2/heartbeat", log), url


def load(urls: list[str], asked: list[str], clients: int, seconds: float, requests: int) -> dict:
    """Closed loop: every client sends its next request as soon as the last one returns;
    client n posts to urls[n % len(urls)]."""
    lock = threading.Lock()
    sent = 0
    latencies: list[float] = []
    statuses: Counter = Counter()
    deadline = time.monotonic() + seconds

    def client(number: int) -> None:
        nonlocal sent
        url = urls[number % len(urls)]
        with httpx.Client(timeout=30) as http:
            i = number
            while time.monotonic() < deadline:
                with lock:
                    if sent >= requests:
                        return
                    sent += 1
                began = time.perf_counter()
                try:
                    reply = http.post(url, json={"question": asked[i % len(asked)]})
                    status = reply.status_code
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


def sample_rss(pids: list[int], stop: threading.Event, samples: list[float]) -> None:
    while not stop.is_set():
        samples.append(sum(map(tree_rss_mb, pids)))
        stop.wait(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--workers", default="1", help="comma-separated worker counts to measure")
    parser.add_argument(
        "--servers", type=int, default=1, help="rag serve processes sharing one Chroma server"
    )
    parser.add_argument("--index", type=Path, help="an existing RAG_DATA_DIR to serve")
    parser.add_argument("--collection", help="its collection (RAG_COLLECTION)")
    parser.add_argument("--squad", type=Path, help="dev-v2.0.json: ask SQuAD questions")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--name", default="serve", help="report name in the results folder")
    args = parser.parse_args()

    asked = questions(args.squad)
    result: dict = {"machine": machine(), "clients": args.clients, "runs": []}
    result["corpus"] = str(args.index or "the sample articles")
    result["servers"] = args.servers
    for workers in map(int, args.workers.split(",")):
        with tempfile.TemporaryDirectory() as scratch, ExitStack() as running:
            servers, urls, chroma = serving(args, workers, Path(scratch), running)
            result["runs"].append(measure(servers, urls, asked, args, workers, chroma))
        print(json.dumps(result["runs"][-1]), file=sys.stderr)
    write_report(args.name, args.out, result, render(result))


def serving(  # type: ignore[no-untyped-def]
    args, workers: int, scratch: Path, running: ExitStack
) -> tuple[list[subprocess.Popen], list[str], str | None]:
    """Start the servers (and, for several, the Chroma server they share); stopped on exit."""
    chroma = None
    if args.servers > 1:
        store = scratch / "chroma"
        if args.index:
            shutil.copytree(args.index / "chroma", store)
        process, chroma = start_chroma(store, scratch / "chroma.log")
        running.callback(stop, process)
    servers, urls = [], []
    for n in range(args.servers):
        data = args.index if args.index and not chroma else scratch / f"rag{n}"
        port = free_port()
        log = scratch / f"server{n}.log"
        ingest = not args.index and n == 0
        process = start_server(data, port, log, workers, args.collection, ingest, chroma)
        running.callback(stop, process)
        servers.append(process)
        urls.append(f"http://127.0.0.1:{port}")
    return servers, urls, chroma


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(timeout=30)


def measure(  # type: ignore[no-untyped-def]
    servers: list[subprocess.Popen],
    urls: list[str],
    asked: list[str],
    args,
    workers: int,
    chroma: str | None,
) -> dict:
    answer_urls = [f"{url}/v1/answer" for url in urls]
    warmup = load(answer_urls, asked, max(1, workers) * len(urls), 300, len(asked) * len(urls))
    pids = [server.pid for server in servers]
    rss_after_warmup = sum(map(tree_rss_mb, pids))
    samples: list[float] = []
    stop_sampling = threading.Event()
    sampler = threading.Thread(target=sample_rss, args=(pids, stop_sampling, samples))
    sampler.start()
    probe: dict = {}
    if chroma:  # half way through, another process ingests a file every server must find
        env = server_env(Path(tempfile.mkdtemp()) / "rag", args.collection, chroma)
        timer = threading.Timer(args.seconds / 2, lambda: probe.update(freshness(answer_urls, env)))
        timer.start()
    loaded = load(answer_urls, asked, args.clients, args.seconds, args.requests)
    if chroma:
        timer.join()
    stop_sampling.set()
    sampler.join()
    health = [httpx.get(f"{url}/healthz", timeout=5).status_code for url in urls]
    memory = {
        "after_warmup_mb": round(rss_after_warmup),
        "max_mb": round(max(samples)),
        "end_mb": round(samples[-1]),
    }
    return {
        "workers": workers,
        "servers": len(servers),
        "warmup": warmup,
        "load": loaded,
        "server_rss": memory,
        "healthz_after": health,
        "ingest_by_another_process": probe or None,
    }


def freshness(urls: list[str], env: dict) -> dict:
    """Ingest a new file in another process, then ask every server about it until each answers
    from it: the seconds from the ingest's end to the first fresh answer's request."""
    stamp = uuid.uuid4().hex[:8]
    folder = Path(tempfile.mkdtemp()) / "probe"
    folder.mkdir()
    name = f"bulletin-{stamp}.txt"
    (folder / name).write_text(
        f"The Quillbrook harbour bulletin {stamp}: the ferry to Marrow Island resumed on "
        "Tuesday after storm repairs, the port authority said. Two new berths opened."
    )
    question = f"When did the ferry to Marrow Island resume, says Quillbrook bulletin {stamp}?"
    began = time.perf_counter()
    rag = str(Path(sys.executable).parent / "rag")
    subprocess.run([rag, "ingest", str(folder)], env=env, check=True, capture_output=True)
    ingested = time.perf_counter()
    stale: dict[str, float] = {}
    pending = list(urls)
    with httpx.Client(timeout=60) as http:
        while pending and time.perf_counter() - ingested < 120:
            for url in list(pending):
                sent = time.perf_counter()
                reply = http.post(url, json={"question": question})
                if reply.is_success and name in {s["file"] for s in reply.json()["sources"]}:
                    stale[url] = round(max(0.0, sent - ingested), 2)
                    pending.remove(url)
            time.sleep(0.1)
    return {
        "ingest_s": round(ingested - began, 1),
        "stale_s": [stale.get(url) for url in urls],
        "all_fresh": not pending,
    }


def render(result: dict) -> str:
    servers = result.get("servers", 1)
    header = ["servers × workers", "clients", "requests", "seconds", "req/s", "p50 ms"]
    header += ["p95 ms", "p99 ms", "errors", "RSS warm → max → end MB (all servers)"]
    if servers > 1:
        header += ["another process's ingest: s", "stale answers for s (each server)"]
    rows = []
    for run in result["runs"]:
        load, memory = run["load"], run["server_rss"]
        rows.append(
            [f"{servers} × {run['workers']}", result["clients"], load["requests"]]
            + [load["seconds"], load["throughput_rps"], load["latency"]["p50_ms"]]
            + [load["latency"]["p95_ms"], load["latency"]["p99_ms"], _errors(load)]
            + [f"{memory['after_warmup_mb']} → {memory['max_mb']} → {memory['end_mb']}"]
        )
        if servers > 1:
            probe = run["ingest_by_another_process"] or {}
            stale = [("never fresh" if s is None else s) for s in probe.get("stale_s", [])]
            rows[-1] += [probe.get("ingest_s"), " / ".join(map(str, stale))]
    shared = (
        f"{servers} `rag serve` processes on one Chroma server (127.0.0.1), clients dealt "
        "out among them"
        if servers > 1
        else "`rag serve --workers N`"
    )
    return (
        f"# Serve benchmark ({result['machine']['date']}, {result['machine']['cpus']} CPUs)\n\n"
        f"{shared} on {result['corpus']} (extractive answers) under a closed loop of concurrent "
        "clients in another process, POST /v1/answer.\n\n" + table(header, rows)
    )


def _errors(load: dict) -> str:
    failed = {k: v for k, v in load["statuses"].items() if k != "200"}
    if not failed:
        return "0"
    return f"{load['errors']} (" + ", ".join(f"{k}: {v}" for k, v in failed.items()) + ")"


if __name__ == "__main__":
    main()
