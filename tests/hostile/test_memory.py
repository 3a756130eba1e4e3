"""A burst of oversized queries leaves `identity serve` (a separate process) about as large as
it found it: nothing of a refused request is kept, and caches keep only short queries."""

from __future__ import annotations

from itertools import islice
from pathlib import Path

import httpx
import pytest

from load_tests.bench_hostile import fields, rss_mib, streamed_body
from load_tests.server import identity_server, sqlite_args

pytestmark = pytest.mark.e2e


def burst(http: httpx.Client, round_: int) -> None:
    for i in range(10):
        tag = round_ * 100 + i
        assert http.post("/graphql", json={"query": fields(90_000, tag)}).status_code == 200
        assert http.post("/graphql", json={"query": fields(2_000, tag)}).status_code == 200
        assert http.post("/graphql", json={"query": fields(450, tag)}).status_code == 200
        assert http.post("/graphql", json={"query": fields(200_000, tag)}).status_code == 413
    assert http.post("/graphql", content=islice(streamed_body(), 20),  # 20 MiB, no length
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
