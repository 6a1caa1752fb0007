"""The API under concurrent load: `rag serve` in one process, clients in this one, on 127.0.0.1.

    .venv/bin/python bench/serve.py [--clients 20] [--seconds 60] [--requests 3000]

The server indexes the sample articles and answers extractively. After one warm-up pass over the
questions of eval/facts.yaml, `clients` threads post them to /v1/answer in a loop until `requests`
were sent or `seconds` passed. The server's RSS is sampled throughout.
"""

import argparse
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


def questions() -> list[str]:
    facts = yaml.safe_load((ROOT / "eval" / "facts.yaml").read_text())
    return [case["question"] for case in facts["cases"]]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(data: Path, port: int, log: Path, workers: int) -> subprocess.Popen:
    env = {**os.environ, "RAG_DATA_DIR": str(data), "RAG_MODE": "extractive"}
    env.update(HF_HUB_OFFLINE="1", ANONYMIZED_TELEMETRY="False")
    command = [str(Path(sys.executable).parent / "rag"), "serve", "--ingest", str(SAMPLE)]
    command += ["--port", str(port)]
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


def sample_rss(pid: int, stop: threading.Event, samples: list[float]) -> None:
    while not stop.is_set():
        samples.append(rss_mb(pid))
        stop.wait(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    asked = questions()
    with tempfile.TemporaryDirectory() as scratch:
        port = free_port()
        server = start_server(Path(scratch) / "rag", port, Path(scratch) / "server.log", 1)
        try:
            url = f"http://127.0.0.1:{port}/v1/answer"
            warmup = load(url, asked, 1, 120, len(asked))
            rss_after_warmup = rss_mb(server.pid)
            samples: list[float] = []
            stop = threading.Event()
            sampler = threading.Thread(target=sample_rss, args=(server.pid, stop, samples))
            sampler.start()
            loaded = load(url, asked, args.clients, args.seconds, args.requests)
            stop.set()
            sampler.join()
            health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code
        finally:
            server.terminate()
            server.wait(timeout=30)
    memory = {
        "after_warmup_mb": round(rss_after_warmup),
        "max_mb": round(max(samples)),
        "end_mb": round(samples[-1]),
        "first_quarter_mean_mb": round(
            sum(samples[: len(samples) // 4 or 1]) / (len(samples) // 4 or 1)
        ),
    }
    result = {
        "machine": machine(),
        "clients": args.clients,
        "warmup": warmup,
        "load": loaded,
        "server_rss": memory,
        "healthz_after": health,
    }
    write_report("serve", args.out, result, render(result))


def render(result: dict) -> str:
    load, memory = result["load"], result["server_rss"]
    header = ["clients", "requests", "seconds", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors"]
    header += ["statuses", "RSS warm → max → end MB"]
    row = [
        result["clients"],
        load["requests"],
        load["seconds"],
        load["throughput_rps"],
        load["latency"]["p50_ms"],
        load["latency"]["p95_ms"],
        load["latency"]["p99_ms"],
        load["errors"],
        load["statuses"],
        f"{memory['after_warmup_mb']} → {memory['max_mb']} → {memory['end_mb']}",
    ]
    return (
        f"# Serve benchmark ({result['machine']['date']}, {result['machine']['cpus']} CPUs)\n\n"
        "`rag serve` (one process, extractive answers, sample articles) under a closed loop of "
        "concurrent clients in another process, POST /v1/answer.\n\n" + table(header, [row])
    )


if __name__ == "__main__":
    main()
