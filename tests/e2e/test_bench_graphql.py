"""The GraphQL read benchmark (load_tests/bench_graphql.py) run tiny: a few hundred events on
SQLite, short runs; its JSON has every figure, and the ratios to the trivial query."""

from __future__ import annotations

import json

import pytest

from load_tests.bench_graphql import FLOOR, QUERIES, main

pytestmark = pytest.mark.e2e


def test_the_benchmark_prints_figures_and_ratios_per_query_and_concurrency(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--events", "300", "--stores", "sqlite", "--concurrency", "1,4",
                 "--duration", "0.3", "--warmup", "0.1", "--repeat", "1", "--keys", "20"]) == 0
    report = json.loads(capsys.readouterr().out)
    sqlite = report["stores"]["sqlite"]
    assert sqlite["known_identifiers"] > 0
    assert set(sqlite["load"]) == {"1", "4"}
    for by_query in sqlite["load"].values():
        assert set(by_query) == set(QUERIES)
        for figures in by_query.values():
            assert figures["count"] > 0 and figures["errors"] == 0
            assert figures["rps"] > 0 and 0 < figures["p50_ms"] <= figures["p99_ms"]
            assert figures["server_cpu_ms_per_request"] >= 0
    reads = set(QUERIES) - {FLOOR}
    assert set(sqlite["ratios_to_trivial"]) == reads
    for ratios in sqlite["ratios_to_trivial"].values():
        for c in ("1", "4"):
            assert isinstance(ratios["rps_ratio"][c], float) and ratios["rps_ratio"][c] > 0
