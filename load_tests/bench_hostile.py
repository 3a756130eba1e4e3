"""What hostile requests cost `identity serve` (a separate process, embedded store), printed
as JSON: how long each kind takes to be refused beside a trivial query on the same server,
how long /healthz answers while a client sends them back to back (beside /healthz idle), and
the server's resident memory before and after a burst of them.

    python -m load_tests.bench_hostile [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from load_tests.server import identity_server, sqlite_args


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError("no VmRSS in /proc")


def fields(count: int, tag: int) -> str:
    return f"# {tag}\n{{ {' '.join(['__typename'] * count)} }}"


def streamed_body() -> Iterator[bytes]:
    for _ in range(100):  # 100 MB, no content-length
        yield b" " * 1_048_576


def hostile_requests() -> dict[str, Callable[[httpx.Client, int], httpx.Response]]:
    def query(text: Callable[[int], str]) -> Callable[[httpx.Client, int], httpx.Response]:
        return lambda http, tag: http.post("/graphql", json={"query": text(tag)})

    fragments = "\n".join(["fragment f0 on Query { __typename }"] + [
        f"fragment f{i} on Query {{ ...f{i - 1} ...f{i - 1} }}" for i in range(1, 40)])
    return {
        "trivial query (reference)": query(lambda tag: f"# {tag}\n{{ __typename }}"),
        "2.2 MB body of 200,000 fields": query(lambda tag: fields(200_000, tag)),
        "1 MB query of 90,000 fields": query(lambda tag: fields(90_000, tag)),
        "2,000 duplicate fields": query(lambda tag: fields(2_000, tag)),
        "fragment bomb (2^39 fields)": query(lambda tag: f"# {tag}\n{{ ...f39 }}\n{fragments}"),
        "JSON nested 2,000 deep": lambda http, tag: http.post(
            "/graphql", content='{"query": "{__typename}", "variables": {"a": '
            + "[" * 2000 + "]" * 2000 + "}}", headers={"content-type": "application/json"}),
        "100 MB streamed body": lambda http, tag: http.post(
            "/graphql", content=streamed_body(), headers={"content-type": "application/json"}),
    }


def timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def healthz_latencies(url: str, stop: threading.Event) -> list[float]:
    found: list[float] = []
    with httpx.Client(base_url=url, timeout=60) as http:
        while not stop.is_set():
            found.append(timed(lambda: http.get("/healthz")))
            time.sleep(0.005)
    return found


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"p50_ms": round(statistics.median(ordered), 2),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2),
            "max_ms": round(ordered[-1], 2), "samples": len(ordered)}


def run(rounds: int) -> dict[str, Any]:
    kinds = hostile_requests()
    with tempfile.TemporaryDirectory() as folder, \
            identity_server(sqlite_args(Path(folder) / "graph.db")) as server, \
            httpx.Client(base_url=server.url, timeout=120) as http:
        pid = server.process.pid
        for tag, call in enumerate(kinds.values()):  # warm every path once
            call(http, tag)
        idle_stop = threading.Event()
        idle: list[float] = []
        watcher = threading.Thread(target=lambda: idle.extend(
            healthz_latencies(server.url, idle_stop)))
        watcher.start()
        time.sleep(2)
        idle_stop.set()
        watcher.join()

        rss_before = rss_mib(pid)
        busy_stop = threading.Event()
        busy: list[float] = []
        watcher = threading.Thread(target=lambda: busy.extend(
            healthz_latencies(server.url, busy_stop)))
        watcher.start()
        per_kind: dict[str, list[float]] = {name: [] for name in kinds}
        statuses: dict[str, int] = {}
        for round_ in range(rounds):
            for name, call in kinds.items():
                started = time.perf_counter()
                statuses[name] = call(http, 1000 + round_).status_code
                per_kind[name].append((time.perf_counter() - started) * 1000)
        busy_stop.set()
        watcher.join()
        rss_after = rss_mib(pid)

    reference = statistics.median(per_kind["trivial query (reference)"])
    return {
        "benchmark": "hostile requests against identity serve (SQLite)",
        "rounds": rounds,
        "refusal": {name: {"status": statuses[name],
                           "median_ms": round(statistics.median(times), 2),
                           "ratio_to_trivial_query": round(statistics.median(times) / reference, 1)}
                    for name, times in per_kind.items()},
        "healthz_idle": summary(idle),
        "healthz_during_hostile_burst": summary(busy),
        "healthz_p99_ratio_burst_to_idle": round(summary(busy)["p99_ms"]
                                                 / summary(idle)["p99_ms"], 1),
        "rss_mib": {"before_burst": rss_before, "after_burst": rss_after,
                    "ratio": round(rss_after / rss_before, 3)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    print(json.dumps(run(parser.parse_args().rounds), indent=2))


if __name__ == "__main__":
    main()
