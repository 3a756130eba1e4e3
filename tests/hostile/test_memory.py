"""A burst of oversized queries leaves `identity serve` (a separate process) about as large as
it found it: nothing of a refused request is kept, and caches keep only short queries."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from load_tests.server import identity_server, sqlite_args

pytestmark = pytest.mark.e2e


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def fields(count: int, tag: int) -> str:
    return f"# burst {tag}\n{{ {' '.join(['__typename'] * count)} }}"


def huge_stream() -> Iterator[bytes]:
    for _ in range(20):
        yield b" " * 1_048_576


def burst(http: httpx.Client, round_: int) -> None:
    for i in range(10):
        tag = round_ * 100 + i
        assert http.post("/graphql", json={"query": fields(90_000, tag)}).status_code == 200
        assert http.post("/graphql", json={"query": fields(2_000, tag)}).status_code == 200
        assert http.post("/graphql", json={"query": fields(450, tag)}).status_code == 200
        assert http.post("/graphql", json={"query": fields(200_000, tag)}).status_code == 413
    assert http.post("/graphql", content=huge_stream(),
                     headers={"content-type": "application/json"}).status_code == 413


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads RSS from /proc")
def test_rss_after_a_burst_of_oversized_queries_returns_within_ten_percent(
        tmp_path: Path) -> None:
    with identity_server(sqlite_args(tmp_path / "graph.db")) as server, \
            httpx.Client(base_url=server.url, timeout=60) as http:
        burst(http, 0)  # warm: the allocator's arenas and the import of every code path
        started = rss_mib(server.process.pid)
        for round_ in range(1, 4):
            burst(http, round_)
        ended = rss_mib(server.process.pid)
        assert http.get("/healthz").status_code == 200
    assert ended <= started * 1.10, f"RSS {started:.0f} MiB -> {ended:.0f} MiB"
