"""The console benchmark (load_tests/bench_console.py) run tiny: a few hundred events on
SQLite, short runs; every request the console's profile page sends is measured without an
error, with its ratio to the trivial query and the page's CPU."""

from __future__ import annotations

import json

import pytest

from load_tests.bench_console import PAGE, main
from load_tests.bench_graphql import FLOOR

pytestmark = pytest.mark.e2e


def test_the_benchmark_measures_each_console_request_without_errors(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--events", "300", "--stores", "sqlite", "--concurrency", "1",
                 "--duration", "0.3", "--warmup", "0.1", "--repeat", "1", "--keys", "20"]) == 0
    report = json.loads(capsys.readouterr().out)
    sqlite = report["stores"]["sqlite"]
    assert sqlite["profiles"] > 0 and sqlite["search_emails"] > 0
    measured = sqlite["load"]["1"]
    assert set(measured) == {FLOOR, *PAGE, "search_email"}
    for figures in measured.values():  # a console document the server refuses is an error
        assert figures["count"] > 0 and figures["errors"] == 0
    assert set(sqlite["ratios_to_trivial"]) == {*PAGE, "search_email"}
    assert sqlite["profile_page_server_cpu_ms"]["1"] > 0
