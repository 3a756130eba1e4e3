"""The gRPC benchmark's harness (load_tests/bench_grpc.py) without ghz, a store or a network:
events convert to the proto, ghz and py-spy output are read right, the verdict applies the
done-when targets, and the empty handler answers over a local channel."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import grpc

from identity.synthetic import GeneratorConfig, generate
from identity.v1 import identity_pb2 as pb2
from identity.v1 import identity_pb2_grpc as pb2_grpc
from load_tests.bench_grpc import (
    EMPTY,
    empty_handler,
    fabricated_profile,
    ghz_requests,
    ingest_stream,
    markdown,
    ratios,
    summarize_ghz,
    summarize_profile,
    to_proto_event,
    verdicts,
)


def test_generated_events_convert_to_the_proto_event() -> None:
    events = generate(GeneratorConfig(people=30, seed=3)).events
    order: dict[str, Any] = next(e for e in events if e["type"] == "order")
    message = to_proto_event(order)
    assert message.event_id == order["event_id"] and message.type == "order"
    assert [(i.kind, i.value) for i in message.identifiers] == [
        (str(i["kind"]), i["value"]) for i in order["identifiers"]]
    assert dict(message.traits) == order.get("traits", {})
    assert (message.amount, message.currency) == (order["amount"], order["currency"])
    assert all(to_proto_event(e).event_id for e in events)


def test_ghz_json_is_read_in_milliseconds() -> None:
    report = {"count": 1000, "rps": 2000.04, "average": 480_000,
              "latencyDistribution": [{"percentage": 50, "latency": 400_000},
                                      {"percentage": 99, "latency": 1_250_000}],
              "statusCodeDistribution": {"OK": 998, "Unavailable": 2},
              "errorDistribution": {"rpc error: code = Unavailable": 2}}
    assert summarize_ghz(report) == {
        "rps": 2000.0, "count": 1000, "p50_ms": 0.4, "p99_ms": 1.25, "mean_ms": 0.48,
        "errors": 2, "error_kinds": {"rpc error: code = Unavailable": 2}}


def test_py_spy_raw_stacks_are_summarized_by_function_and_area() -> None:
    loop = ("thread (1): MainThread;serve (/x/src/identity/cli.py:3);run (asyncio/runners.py:1);"
            "Handle._run (asyncio/events.py:80)")
    raw = "\n".join([
        f"{loop};Resolve (/x/src/identity/api/grpc/servicer.py:40);"
        "read (/x/src/identity/store/sqlite.py:9) 3",
        f"{loop};0x7f01 (/v/site-packages/grpc/_cython/cygrpc.so);sendmsg (libc.so.6) 1",
    ])
    summary = summarize_profile(raw, seconds=1, rate=8)
    assert summary["samples"] == 4 and summary["gil_held_percent"] == 50.0
    assert summary["self_percent"][0] == ["read (identity/store/sqlite.py)", 75.0]
    # Each sample goes to its innermost identity module, else to its leaf's library.
    assert dict(summary["area_percent"]) == {"identity store": 75.0,
                                             "system calls (libc)": 25.0}
    assert summary["samples_by_thread"] == {"MainThread": 4}


def _figures(rps: float, p99: float) -> dict[str, Any]:
    return {"rps": rps, "count": 100, "p50_ms": p99 / 2, "p99_ms": p99, "mean_ms": p99 / 2,
            "errors": 0, "server_cpu_ms_per_request": 0.1}


def _results(store_rps_c64: float, store_p99_c1: float) -> dict[str, Any]:
    def calls(rps64: float, p99_1: float) -> dict[str, Any]:
        by_c = {"1": _figures(1000, p99_1), "64": _figures(rps64, 20)}
        return {"resolve": by_c, "resolve_id_only": by_c, "get_profile": by_c}

    return {EMPTY: calls(5000, 0.5), "sqlite": calls(store_rps_c64, store_p99_c1)}


def _verdicts(results: dict[str, Any]) -> dict[str, Any]:
    return verdicts(ratios(results, [1, 64]))


def test_the_verdict_applies_both_targets_on_the_embedded_store() -> None:
    passed = _verdicts(_results(3600, 2.4))  # 0.72 and +1.9 ms
    assert passed["status"] == "PASS"
    assert (passed["resolve"]["rps_ratio_c64"], passed["resolve"]["p99_delta_c1_ms"]) == (
        0.72, 1.9)
    slow = _verdicts(_results(3400, 2.4))["resolve"]
    assert (slow["rps"], slow["p99"], slow["status"]) == ("FAIL", "PASS", "FAIL")
    late = _verdicts(_results(5000, 2.6))["resolve"]
    assert (late["rps"], late["p99"]) == ("PASS", "FAIL")
    assert "not measured" in _verdicts({EMPTY: _results(1, 1)[EMPTY]})["status"]
    only_c1 = verdicts(ratios(_results(3600, 2.4), [1]))["resolve"]
    assert only_c1["status"] == "not measured: needs concurrency 1 and 64"


def test_the_table_shows_each_store_beside_the_empty_handler() -> None:
    results = _results(2500, 1.5)
    to_empty = ratios(results, [1, 64])
    report = {"config": {"concurrency": [1, 64]}, "load": results,
              "ratios_to_empty_handler": to_empty, "verdict": verdicts(to_empty)}
    assert report["ratios_to_empty_handler"]["sqlite"]["resolve"]["rps_ratio"]["64"] == 0.5
    table = markdown(report)
    assert "| resolve | 64 | 5,000 | 10.00 / 20.00 | 2,500 (0.50) |" in table
    assert "sqlite resolve: FAIL" in table and "+1.00 ms" in table
    assert "| resolve | 64 | 0.100 | 0.100 (1.00) |" in table  # CPU per request, its ratio


def test_the_empty_handler_answers_with_a_constant_profile(tmp_path: Path) -> None:
    profile = fabricated_profile()
    profile_file = tmp_path / "profile.bin"
    profile_file.write_bytes(profile.SerializeToString())
    with empty_handler(profile_file) as target:
        with grpc.insecure_channel(target.address) as channel:
            stub = pb2_grpc.IdentityServiceStub(channel)
            full = stub.Resolve(pb2.ResolveRequest(
                identifiers=[pb2.Identifier(kind="email", value="a@example.com")]), timeout=10)
            slim = stub.Resolve(pb2.ResolveRequest(id_only=True), timeout=10)
            fetched = stub.GetProfile(pb2.GetProfileRequest(profile_id="x"), timeout=10)
        assert full.profile == profile and fetched == profile
        assert slim.profile_id == profile.id and not slim.HasField("profile")
        events = generate(GeneratorConfig(people=20, seed=5)).events[:60]
        streamed = asyncio.run(ingest_stream(target.address, events, streams=3))
    assert streamed["acks"] == 60 and streamed["outcome"] == {"STATUS_ACCEPTED": 60}
    requests = ghz_requests([("email", "a@example.com")], ["p1"])
    assert requests["resolve_id_only"] == [{"identifiers": [{"kind": "email", "value":
                                            "a@example.com"}], "mode": "MODE_LOOKUP",
                                            "id_only": True}]
