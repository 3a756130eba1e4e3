"""gRPC benchmark: Resolve and GetProfile under ghz beside an empty grpc.aio handler, per store.

The ceiling is an empty handler: a grpc.aio server in its own process, same Python and grpcio,
answering Resolve and GetProfile with constant responses of a realistic size (a real profile
of the seeded store, the median by encoded size) and acknowledging IngestStream events without
storing them. Each store runs `identity serve --grpc-port`, seeded over gRPC IngestEvents with
generated journeys; then ghz (https://ghz.sh, built from the Go module proxy into .devservers/)
drives Resolve of known identifiers (MODE_LOOKUP, with the profile and with id_only) and
GetProfile of known ids at each concurrency. After a warm-up the targets take turns, run by
run, --repeat times, and each figure is the median, so that a busy stretch of a shared machine
falls on all of them alike; the server's own CPU per request (from /proc) is recorded beside
req/s, as it moves far less with the machine's load. IngestStream events/s come from a
grpc.aio client streaming generated events, over one stream and over several concurrent ones.

Prints JSON (also written to --out) and a markdown table with each store's ratio to the empty
handler, and PASS/FAIL against the targets for the embedded store: Resolve of a known
identifier at >= 70% of the empty handler's requests/s at concurrency 64, and its p99 at
concurrency 1 within 2 ms of the empty handler's. When a target is missed (or with
--profile always), py-spy samples the server under Resolve load (GIL holder, native frames
included) and the report lists where the time goes. --calibrate 10,25,50,100 also measures the
empty handler made to spin that many microseconds per call: how much Python a handler may
spend per call for a given ratio on this machine.

    python -m load_tests.bench_grpc [--stores sqlite,neo4j] [--duration 5s] [--out FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from identity.synthetic import GeneratorConfig, generate, people_for_events
from identity.v1 import identity_pb2 as pb2
from identity.v1 import identity_pb2_grpc as pb2_grpc
from load_tests.bench_ingest import StoreUnderTest, store_flags, stores_under_test, wipe
from load_tests.server import free_port, identity_server
from load_tests.tools import GHZ_VERSION, IDENTITY_PROTO, PROTO_ROOT, ghz_binary, publish

SERVICE = "identity.v1.IdentityService"
CALLS = ("resolve", "resolve_id_only", "get_profile")
METHOD = {"resolve": "Resolve", "resolve_id_only": "Resolve", "get_profile": "GetProfile"}
EMPTY = "empty_handler"
# The targets of the done-when, on the embedded store.
RPS_RATIO_TARGET = 0.70
P99_DELTA_TARGET_MS = 2.0
TARGET_CALL, TARGET_STORE = "resolve", "sqlite"
# Kinds a back-end service resolves in its request path (sessions and orders are not people).
RESOLVE_KINDS = ("customer_id", "email", "anonymous_id", "device_id", "phone")


# --- the empty handler: the ceiling -----------------------------------------------------------


def fabricated_profile() -> Any:
    """A profile of typical shape, for when no store is measured (the empty handler alone)."""
    def ts(seconds: int) -> Timestamp:
        return Timestamp(seconds=1_704_067_200 + seconds)

    identifiers = [("anonymous_id", "e9ac2e08-ebcf-4a62-988a-40e87910e6db"),
                   ("device_id", "91b92f8b-8a84-4529-b662-f7edb5b85fb3"),
                   ("session_id", "s_1e1aec5ea49ef488"), ("session_id", "s_60a351f7bc9d18cf"),
                   ("customer_id", "C717988592"), ("email", "julie_bertrand376@gmail.com"),
                   ("phone", "+33662314901"), ("order_id", "O-B50311D3-0721")]
    golden = [("first_name", "Julie"), ("last_name", "Bertrand"),
              ("date_of_birth", "1962-10-01"), ("address_line1", "233 rue des Lilas"),
              ("city", "Marseille"), ("postcode", "13020"), ("country", "FR")]
    return pb2.Profile(
        id="p_01HQ3K8Z4W6V9T2R5N7M1X0Y3B", requested_id="p_01HQ3K8Z4W6V9T2R5N7M1X0Y3B",
        merged_ids=["p_01HQ3K9A1B2C3D4E5F6G7H8J9K"], created_at=ts(0), first_seen=ts(0),
        last_seen=ts(86_400),
        identifiers=[pb2.ProfileIdentifier(kind=k, value=v, first_seen=ts(i * 60),
                                           last_seen=ts(i * 600)) for i, (k, v)
                     in enumerate(identifiers)],
        golden=[pb2.GoldenField(name=n, value=v, source="ios", observed_at=ts(3600),
                                event_id="34aaa793-dbd1-44c7-b1e4-7605899dc69d", support=2)
                for n, v in golden],
        order_count=1, total_spend=[pb2.Money(currency="EUR", amount="398.40")])


def _spin(seconds: float) -> None:
    until = time.perf_counter() + seconds
    while time.perf_counter() < until:
        pass


async def serve_empty_handler(port: int, profile_file: Path | None, work_us: float = 0) -> None:
    """Runs until killed: constant answers, no store; the same stubs and grpcio as the service.
    With `work_us`, each unary call first spins that long on the loop: a stand-in for a
    handler's own Python, to see what a given cost per call does to requests/s."""
    encoded = profile_file.read_bytes() if profile_file else None  # noqa: ASYNC240 (start-up)
    profile = pb2.Profile.FromString(encoded) if encoded else fabricated_profile()
    full = pb2.ResolveResponse(profile_id=profile.id, profile=profile)
    id_only = pb2.ResolveResponse(profile_id=profile.id)
    accepted = pb2.EventResult.Status.STATUS_ACCEPTED

    class EmptyHandler(pb2_grpc.IdentityServiceServicer):
        async def Resolve(self, request: Any, context: Any) -> Any:
            if work_us:
                _spin(work_us / 1e6)
            return id_only if request.id_only else full

        async def GetProfile(self, request: Any, context: Any) -> Any:
            if work_us:
                _spin(work_us / 1e6)
            return profile

        async def IngestStream(self, requests: Any, context: Any) -> Any:
            index = 0
            async for request in requests:
                yield pb2.IngestStreamResponse(result=pb2.EventResult(
                    index=index, event_id=request.event.event_id, status=accepted,
                    profile_id=profile.id))
                index += 1

    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])  # as identity serve's
    pb2_grpc.add_IdentityServiceServicer_to_server(EmptyHandler(), server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


def wait_for_grpc(address: str, process: subprocess.Popen[bytes] | None = None,
                  timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    with grpc.insecure_channel(address) as channel:
        while True:
            try:
                grpc.channel_ready_future(channel).result(timeout=0.5)
                return
            except grpc.FutureTimeoutError:
                if process is not None and process.poll() is not None:
                    raise RuntimeError(f"the server for {address} exited "
                                       f"({process.returncode})") from None
                if time.monotonic() > deadline:
                    raise RuntimeError(f"no gRPC server on {address}") from None


@dataclass
class Target:
    name: str
    address: str
    pid: int
    # Per call, the request messages ghz cycles through (round robin).
    requests: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)


@contextmanager
def empty_handler(profile_file: Path | None, work_us: float = 0,
                  name: str = EMPTY) -> Iterator[Target]:
    """The empty handler in its own process, answering with the encoded profile in
    `profile_file` (a fabricated one if None)."""
    port = free_port()
    command = [sys.executable, "-m", "load_tests.bench_grpc", "--serve-empty-handler", str(port),
               "--empty-work-us", str(work_us)]
    if profile_file is not None:
        command += ["--empty-profile", str(profile_file)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    try:
        wait_for_grpc(f"127.0.0.1:{port}", process)
        yield Target(name, f"127.0.0.1:{port}", process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)


# --- seeding the service over gRPC ------------------------------------------------------------


def to_proto_event(event: dict[str, Any]) -> Any:
    """An event of identity.synthetic (the JSONL format) as the proto's Event (its kinds are
    StrEnums: str() is their value)."""
    return pb2.Event(
        event_id=str(event.get("event_id") or ""), type=str(event.get("type") or ""),
        timestamp=str(event.get("timestamp") or ""), source=str(event.get("source") or ""),
        identifiers=[pb2.Identifier(kind=str(i["kind"]), value=str(i["value"]))
                     for i in event.get("identifiers") or []],
        traits={str(k): str(v) for k, v in (event.get("traits") or {}).items()},
        amount=str(event.get("amount") or ""), currency=str(event.get("currency") or ""))


async def seed(address: str, events: list[dict[str, Any]], batch_size: int) -> dict[str, Any]:
    messages = [to_proto_event(e) for e in events]
    statuses: Counter[str] = Counter()
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb2_grpc.IdentityServiceStub(channel)
        started = time.perf_counter()
        for start in range(0, len(messages), batch_size):
            response = await stub.IngestEvents(
                pb2.IngestEventsRequest(events=messages[start : start + batch_size]),
                timeout=600)
            statuses.update(pb2.EventResult.Status.Name(r.status) for r in response.results)
        seconds = time.perf_counter() - started
    return {"events": len(events), "seconds": round(seconds, 2),
            "events_per_s": round(len(events) / seconds), "batch_size": batch_size,
            "outcome": dict(statuses)}


async def known_keys(address: str, candidates: list[tuple[str, str]],
                     wanted: int) -> tuple[list[tuple[str, str]], list[str], list[bytes]]:
    """The identifiers the store knows (in candidate order, up to `wanted`), their profile ids,
    and the encoded profiles."""
    known: list[tuple[str, str]] = []
    profile_ids: list[str] = []
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb2_grpc.IdentityServiceStub(channel)
        for kind, value in candidates:
            response = await stub.Resolve(pb2.ResolveRequest(
                identifiers=[pb2.Identifier(kind=kind, value=value)],
                mode=pb2.ResolveRequest.Mode.MODE_LOOKUP, id_only=True), timeout=30)
            if response.profile_id:
                known.append((kind, value))
                profile_ids.append(response.profile_id)
                if len(known) == wanted:
                    break
        distinct = list(dict.fromkeys(profile_ids))
        profiles = [(await stub.GetProfile(pb2.GetProfileRequest(profile_id=p), timeout=30)
                     ).SerializeToString() for p in distinct]
    return known, distinct, profiles


def ghz_requests(known: list[tuple[str, str]], profile_ids: list[str]
                 ) -> dict[str, list[dict[str, Any]]]:
    def resolve(id_only: bool) -> list[dict[str, Any]]:
        return [{"identifiers": [{"kind": k, "value": v}], "mode": "MODE_LOOKUP",
                 **({"id_only": True} if id_only else {})} for k, v in known]

    return {"resolve": resolve(False), "resolve_id_only": resolve(True),
            "get_profile": [{"profile_id": p} for p in profile_ids]}


# --- ghz --------------------------------------------------------------------------------------


def request_file(work: Path, target: Target, call: str) -> Path:
    """The requests ghz cycles through for this target and call, written on first use."""
    path = work / f"ghz-{target.name}-{call}.json"
    if not path.exists():
        path.write_text(json.dumps(target.requests[call]))
    return path


def ghz_command(ghz: Path, target: Target, call: str, concurrency: int, duration: str,
                data_file: Path) -> list[str]:
    return [str(ghz), "--insecure", "--proto", str(IDENTITY_PROTO),
            "--import-paths", str(PROTO_ROOT), "--call", f"{SERVICE}.{METHOD[call]}",
            "--data-file", str(data_file), "--concurrency", str(concurrency),
            "--connections", "1", "--duration", duration, "--duration-stop", "ignore",
            "--timeout", "20s", "--format", "json", target.address]


def summarize_ghz(report: dict[str, Any]) -> dict[str, Any]:
    latencies = {int(d["percentage"]): d["latency"] / 1e6
                 for d in report.get("latencyDistribution") or []}
    statuses = report.get("statusCodeDistribution") or {}
    return {
        "rps": round(report["rps"], 1), "count": report["count"],
        "p50_ms": round(latencies.get(50, float("nan")), 3),
        "p99_ms": round(latencies.get(99, float("nan")), 3),
        "mean_ms": round(report["average"] / 1e6, 3),
        "errors": sum(n for code, n in statuses.items() if code != "OK"),
        **({"error_kinds": report["errorDistribution"]} if report.get("errorDistribution")
           else {}),
    }


def cpu_seconds(pid: int) -> float:
    """User plus system CPU of a process, all its threads (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_ghz(command: list[str]) -> dict[str, Any]:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0 and not done.stdout.strip():
        raise RuntimeError(f"ghz failed ({done.returncode}): {done.stderr.strip()}")
    return summarize_ghz(json.loads(done.stdout))


def measured_run(ghz: Path, target: Target, call: str, concurrency: int, duration: str,
                 file: Path) -> dict[str, Any]:
    """One ghz run, with the server's own CPU per request (all its threads; not the store's:
    Neo4j is another process). CPU per call moves far less than req/s on a shared machine."""
    cpu = cpu_seconds(target.pid)
    figures = run_ghz(ghz_command(ghz, target, call, concurrency, duration, file))
    figures["server_cpu_ms_per_request"] = round(
        (cpu_seconds(target.pid) - cpu) * 1000 / max(1, figures["count"]), 3)
    return figures


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Each figure's median over the repeats (p99 too: a median of the runs' p99s)."""
    merged: dict[str, Any] = {}
    for key in ("rps", "p50_ms", "p99_ms", "mean_ms", "server_cpu_ms_per_request"):
        merged[key] = round(statistics.median(r[key] for r in runs), 3)
    merged["count"] = sum(r["count"] for r in runs)
    merged["errors"] = sum(r["errors"] for r in runs)
    merged["rps_runs"] = [r["rps"] for r in runs]
    kinds = [r["error_kinds"] for r in runs if "error_kinds" in r]
    if kinds:
        merged["error_kinds"] = kinds
    return merged


def take_turns(ghz: Path, runs_on: list[tuple[Target, Path]], call: str, concurrency: int,
               duration: str, warmup: str, repeat: int) -> list[dict[str, Any]]:
    """A warm-up run on each target (with its request file), then `repeat` measured runs
    taking turns (A B C A B C ...), so that a busy stretch of a shared machine falls on all
    of them alike: each target's medians, in order."""
    for target, file in runs_on:
        run_ghz(ghz_command(ghz, target, call, concurrency, warmup, file))
    runs: list[list[dict[str, Any]]] = [[] for _ in runs_on]
    for _ in range(repeat):
        for (target, file), mine in zip(runs_on, runs, strict=True):
            mine.append(measured_run(ghz, target, call, concurrency, duration, file))
    return [median_of(mine) for mine in runs]


def load_matrix(ghz: Path, targets: list[Target], concurrencies: list[int], duration: str,
                warmup: str, repeat: int, work: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """results[target][call][concurrency], medians of `repeat` runs taking turns."""
    results: dict[str, dict[str, dict[str, Any]]] = {
        t.name: {call: {} for call in CALLS} for t in targets}
    for concurrency in concurrencies:
        for call in CALLS:
            medians = take_turns(ghz, [(t, request_file(work, t, call)) for t in targets], call,
                                 concurrency, duration, warmup, repeat)
            for target, figures in zip(targets, medians, strict=True):
                results[target.name][call][str(concurrency)] = figures
                print(f"  {target.name:>13} {call:<15} c={concurrency:<3} "
                      f"{figures['rps']:>9.1f} req/s  p50 {figures['p50_ms']:.2f} ms  "
                      f"p99 {figures['p99_ms']:.2f} ms  cpu/req "
                      f"{figures['server_cpu_ms_per_request']:.3f} ms  errors {figures['errors']}"
                      f"  (runs: {', '.join(f'{r:.0f}' for r in figures['rps_runs'])})",
                      file=sys.stderr)
    return results


def calibrate(ghz: Path, empty: Target, spins: list[float], concurrency: int, duration: str,
              warmup: str, repeat: int, work: Path, profile_file: Path | None) -> dict[str, Any]:
    """Resolve id_only on the empty handler made to spin `us` per call, taking turns with the
    plain one: req/s ratio and server CPU per request (medians of `repeat` runs)."""
    call = "resolve_id_only"
    file = request_file(work, empty, call)
    out: dict[str, Any] = {"call": call, "concurrency": concurrency, "by_work_us": {}}
    for us in spins:
        with empty_handler(profile_file, us, name=f"empty+{us:g}us") as spinning:
            plain, spun = take_turns(ghz, [(empty, file), (spinning, file)], call, concurrency,
                                     duration, warmup, repeat)
        ratio = spun["rps"] / plain["rps"]
        out["by_work_us"][f"{us:g}"] = {
            "rps": spun["rps"], "empty_rps": plain["rps"], "rps_ratio": round(ratio, 3),
            "server_cpu_ms_per_request": spun["server_cpu_ms_per_request"],
            "empty_server_cpu_ms_per_request": plain["server_cpu_ms_per_request"]}
        print(f"  calibration {us:>6g} us/call: {spun['rps']:.0f} req/s vs {plain['rps']:.0f} "
              f"({ratio:.2f})", file=sys.stderr)
    return out


# --- IngestStream -----------------------------------------------------------------------------


async def ingest_stream(address: str, events: list[dict[str, Any]],
                        streams: int) -> dict[str, Any]:
    """Events/s from the first write to the last acknowledgement, over `streams` concurrent
    streams on one channel (events split in contiguous slices); acks read as they come."""
    requests = [pb2.IngestStreamRequest(event=to_proto_event(e)) for e in events]
    size = -(-len(requests) // streams)
    slices = [requests[i : i + size] for i in range(0, len(requests), size)]
    statuses: Counter[str] = Counter()

    async def one(stub: Any, chunk: list[Any]) -> int:
        call = stub.IngestStream(timeout=900)

        async def send() -> None:
            for request in chunk:
                await call.write(request)
            await call.done_writing()

        sender = asyncio.create_task(send())
        acks = 0
        async for response in call:
            statuses[pb2.EventResult.Status.Name(response.result.status)] += 1
            acks += 1
        await sender
        return acks

    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb2_grpc.IdentityServiceStub(channel)
        started = time.perf_counter()
        acks = await asyncio.gather(*(one(stub, chunk) for chunk in slices))
        seconds = time.perf_counter() - started
    return {"events": len(events), "streams": streams, "acks": sum(acks),
            "seconds": round(seconds, 2), "events_per_s": round(len(events) / seconds),
            "outcome": dict(statuses)}


# --- profiling --------------------------------------------------------------------------------


def py_spy() -> str | None:
    here = Path(sys.executable).parent / "py-spy"
    return str(here) if here.is_file() else shutil.which("py-spy")


PY_SPY_RATE = 100  # samples/s; --native stops the process for each one: keep it light
_FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^():]+?)(?::(?P<line>\d+))?\)$")


def _short_file(path: str) -> str:
    for marker in ("site-packages/", "/src/", "/lib/python3"):
        if marker in path:
            rest = path.split(marker, 1)[1]
            return rest.split("/", 1)[1] if marker == "/lib/python3" else rest
    return path


def _area(file: str) -> str:
    for prefix, area in (("identity/api/grpc", "identity gRPC servicer"),
                         ("identity/v1", "generated stubs"),
                         ("identity/service", "identity service"),
                         ("identity/store", "identity store"),
                         ("identity/domain", "identity domain"),
                         ("identity/", "identity (other)"), ("grpc/", "grpcio"),
                         ("google/protobuf", "protobuf"), ("aiosqlite", "aiosqlite"),
                         ("neo4j/", "neo4j driver"), ("sqlite3", "sqlite3"),
                         ("asyncio/", "asyncio"), ("_asynciomodule", "asyncio"),
                         ("libc.so", "system calls (libc)"), ("libpython", "interpreter"),
                         ("threading", "threads"), ("concurrent/", "threads")):
        if file.startswith(prefix) or f"/{prefix}" in file:
            return area
    return "other"


def summarize_profile(raw: str, seconds: float, rate: int, top: int = 20) -> dict[str, Any]:
    """py-spy's raw (collapsed) stacks, `thread (tid): name;frame;...;frame count`, root first,
    sampled only while a thread holds the GIL (--gil): the Python side's CPU.

    Self time per function (the leaf), inclusive time per function (once per stack; the event
    loop's own frames, in every stack, are left out), samples per thread, and each sample
    charged to one area: the innermost identity module the event loop runs, if any (so
    SQLite's C code under the store counts as the store, protobuf under the servicer as the
    servicer), else the leaf's (grpcio's Cython core, system calls, asyncio). Native frames
    without symbols count by library."""
    leaf: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    areas: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames: list[str] = []
        for part in stack.split(";"):
            match = _FRAME.match(part.strip())
            if match is None or part.startswith("thread ("):
                threads[part.strip().split(": ", 1)[-1]] += count
                continue
            function = match["function"]
            if function.startswith("0x"):
                function = "[native]"
            frames.append(f"{function} ({_short_file(match['file'])})")
        if not frames:
            continue
        leaf[frames[-1]] += count
        for name in set(frames):
            inclusive[name] += count
        # Only what the event loop runs: `identity serve` itself is at the root of every stack.
        run = next((i for i, f in enumerate(frames) if f.startswith("Handle._run (")), -1)
        owners = [_area(f.rsplit("(", 1)[1]) for f in frames[run + 1 :] or frames]
        mine = [area for area in owners if area.startswith("identity")]
        areas[mine[-1] if mine else owners[-1]] += count

    def share(counter: Counter[str], skip_roots: bool = False) -> list[list[Any]]:
        rows = [(name, n) for name, n in counter.most_common()
                if not (skip_roots and n >= 0.99 * total)]
        return [[name, round(100 * n / total, 1)] for name, n in rows[:top]]

    return {"samples": total,
            "gil_held_percent": round(100 * total / (seconds * rate), 1),
            "self_percent": share(leaf), "inclusive_percent": share(inclusive, True),
            "area_percent": share(areas),
            "samples_by_thread": dict(threads.most_common(8))}


def profile_under_load(ghz: Path, target: Target, call: str, concurrency: int, seconds: int,
                       work: Path) -> dict[str, Any]:
    spy = py_spy()
    if spy is None:
        return {"skipped": "py-spy not found (pip install py-spy)"}
    data = request_file(work, target, call)
    raw = work / f"profile-{target.name}-{call}.txt"
    load = subprocess.Popen(ghz_command(ghz, target, call, concurrency, f"{seconds + 2}s", data),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1)
        done = subprocess.run([spy, "record", "--pid", str(target.pid), "--duration",
                               str(seconds), "--rate", str(PY_SPY_RATE), "--format", "raw",
                               "--native", "--gil", "--threads", "--output", str(raw)],
                              capture_output=True, text=True, check=False)
    finally:
        load.wait(timeout=seconds + 60)
    if done.returncode != 0 or not raw.is_file():
        return {"skipped": f"py-spy failed: {done.stderr.strip()[-500:]}"}
    return {"call": call, "concurrency": concurrency, "seconds": seconds,
            **summarize_profile(raw.read_text(), seconds, PY_SPY_RATE)}


# --- report -----------------------------------------------------------------------------------


def ratios(results: dict[str, dict[str, dict[str, Any]]], concurrencies: list[int]
           ) -> dict[str, dict[str, dict[str, Any]]]:
    """Per store and call: rps ratio to the empty handler at each concurrency, and p99
    difference from it at each concurrency (ms)."""
    cpu = "server_cpu_ms_per_request"
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for name, calls in results.items():
        if name == EMPTY:
            continue
        out[name] = {}
        for call, by_c in calls.items():
            steps = [(str(c), by_c[str(c)], results[EMPTY][call][str(c)]) for c in concurrencies
                     if str(c) in by_c]
            out[name][call] = {
                "rps_ratio": {c: round(mine["rps"] / empty["rps"], 3)
                              for c, mine, empty in steps},
                "p99_delta_ms": {c: round(mine["p99_ms"] - empty["p99_ms"], 3)
                                 for c, mine, empty in steps},
                # The empty handler's server CPU per request over the store's: the req/s
                # ratio a server bound by its own CPU would reach, whatever the machine's load.
                "cpu_ratio": {c: round(empty[cpu] / mine[cpu], 3)
                              for c, mine, empty in steps if mine[cpu] > 0}}
    return out


def verdicts(ratios_to_empty: dict[str, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """The done-when targets (read from `ratios`), on the embedded store's Resolve of a known
    identifier (with the profile, as a default call; id_only is shown for information)."""
    if TARGET_STORE not in ratios_to_empty:
        return {"status": "not measured: no embedded store in this run"}
    out: dict[str, Any] = {}
    for call in ("resolve", "resolve_id_only"):
        ratios_of = ratios_to_empty[TARGET_STORE][call]
        if "64" not in ratios_of["rps_ratio"] or "1" not in ratios_of["p99_delta_ms"]:
            out[call] = {"status": "not measured: needs concurrency 1 and 64"}
            continue
        ratio, delta = ratios_of["rps_ratio"]["64"], ratios_of["p99_delta_ms"]["1"]
        rps_ok, p99_ok = ratio >= RPS_RATIO_TARGET, delta <= P99_DELTA_TARGET_MS
        out[call] = {
            "rps_ratio_c64": ratio, "rps_target": RPS_RATIO_TARGET,
            "rps": "PASS" if rps_ok else "FAIL",
            "p99_delta_c1_ms": delta, "p99_target_ms": P99_DELTA_TARGET_MS,
            "p99": "PASS" if p99_ok else "FAIL",
            "status": "PASS" if rps_ok and p99_ok else "FAIL"}
    out["status"] = out["resolve"]["status"]
    return out


def markdown(report: dict[str, Any]) -> str:
    results, to_empty = report["load"], report["ratios_to_empty_handler"]
    concurrencies = report["config"]["concurrency"]
    stores = [n for n in results if n != EMPTY]
    head = ["call", "c", "empty handler req/s", "p50 / p99 ms"]
    for store in stores:
        head += [f"{store} req/s (x empty)", "p50 / p99 ms"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for call in CALLS:
        for c in map(str, concurrencies):
            empty = results[EMPTY][call][c]
            row = [call, c, f"{empty['rps']:,.0f}",
                   f"{empty['p50_ms']:.2f} / {empty['p99_ms']:.2f}"]
            for store in stores:
                figures = results[store][call].get(c)
                if figures is None:
                    row += ["-", "-"]
                    continue
                ratio = to_empty[store][call]["rps_ratio"][c]
                delta = to_empty[store][call]["p99_delta_ms"][c]
                errors = f", {figures['errors']} errors" if figures["errors"] else ""
                row += [f"{figures['rps']:,.0f} ({ratio:.2f}){errors}",
                        f"{figures['p50_ms']:.2f} / {figures['p99_ms']:.2f} ({delta:+.2f})"]
            lines.append("| " + " | ".join(row) + " |")
    names = list(results)
    lines += ["", "| server CPU ms per request (empty handler's / store's) | c | "
              + " | ".join(names) + " |", "|" + "---|" * (len(names) + 2)]
    for call in CALLS:
        for c in map(str, concurrencies):
            cells = []
            for n in names:
                value = results[n][call].get(c, {}).get("server_cpu_ms_per_request")
                ratio = to_empty.get(n, {}).get(call, {}).get("cpu_ratio", {}).get(c)
                cells.append("-" if value is None else f"{value:.3f}" if ratio is None
                             else f"{value:.3f} ({ratio:.2f})")
            lines.append(f"| {call} | {c} | " + " | ".join(cells) + " |")
    text = "\n".join(lines)
    streams = report.get("ingest_stream") or {}
    if streams:
        names = list(streams)
        keys = list(next(iter(streams.values())))
        text += "\n\n| IngestStream events/s | " + " | ".join(names) + " |\n|" + "---|" * (
            len(names) + 1)
        for key in keys:
            text += f"\n| {key} | " + " | ".join(
                f"{streams[n][key]['events_per_s']:,}" for n in names) + " |"
    verdict = report.get("verdict") or {}
    for call in ("resolve", "resolve_id_only"):
        v = verdict.get(call)
        if isinstance(v, dict) and "rps_ratio_c64" in v:
            text += (f"\n\n{TARGET_STORE} {call}: {v['status']} - req/s at c=64 "
                     f"{v['rps_ratio_c64']:.2f} x empty handler (target >= "
                     f"{RPS_RATIO_TARGET:.2f}: {v['rps']}); p99 at c=1 "
                     f"{v['p99_delta_c1_ms']:+.2f} ms over it (target <= "
                     f"{P99_DELTA_TARGET_MS:.0f} ms: {v['p99']})")
    if not stores:
        text += f"\n\n{verdict.get('status', '')}"
    calibration = report.get("calibration")
    if calibration:
        text += (f"\n\n| empty handler + Python work per call ({calibration['call']}, "
                 f"c={calibration['concurrency']}) | req/s | x plain empty handler | "
                 "server CPU ms/request |\n|---|---|---|---|")
        for us, row in calibration["by_work_us"].items():
            text += (f"\n| {us} us | {row['rps']:,.0f} | {row['rps_ratio']:.2f} | "
                     f"{row['server_cpu_ms_per_request']:.3f} |")
    for name, found in (report.get("profile") or {}).items():
        if "skipped" in found:
            text += f"\n\npy-spy on {name}: {found['skipped']}"
            continue
        areas = ", ".join(f"{area} {pct}%" for area, pct in found["area_percent"])
        leaves = ", ".join(f"{frame} {pct}%" for frame, pct in found["self_percent"][:6])
        text += (f"\n\npy-spy on {name} at c={found['concurrency']} ({found['samples']} "
                 f"samples while holding the GIL, {found['gil_held_percent']}% of the time): "
                 f"{areas}.\nTop self: {leaves}.")
    for note in report.get("notes") or []:
        text += f"\n\nNote: {note}"
    return text


# --- main -------------------------------------------------------------------------------------


def start_store(stack: ExitStack, name: str, store: StoreUnderTest) -> Target:
    if store.config.kind == "neo4j":
        asyncio.run(wipe(store.config))
    port = free_port()
    server = stack.enter_context(identity_server(
        [*store.server_args, "--grpc-port", str(port)], store.server_env, timeout_s=120))
    address = f"127.0.0.1:{port}"
    wait_for_grpc(address, server.process)
    return Target(name, address, server.process.pid)


def candidates(dataset: Any, limit: int) -> list[tuple[str, str]]:
    rows = [(t.kind, t.value) for t in dataset.truth if not t.is_shared]
    picked = [r for r in rows if r[0] in RESOLVE_KINDS]
    # Spread over people and kinds: every k-th row rather than the first people's.
    step = max(1, len(picked) // (limit * 2))
    return picked[::step]


def stream_events(count: int, seed: int) -> list[dict[str, Any]]:
    """`count` fresh events (other people than the seeded ones, new event ids)."""
    people = people_for_events(count)
    while True:
        events = generate(GeneratorConfig(people=people, seed=seed)).events
        if len(events) >= count:
            return events[:count]
        people = people * 5 // 4 + 1


def median_profile(profiles: list[bytes]) -> bytes:
    return sorted(profiles, key=len)[len(profiles) // 2]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--duration", default="5s", help="each measured ghz run (default 5s)")
    parser.add_argument("--warmup", default="1s", help="a ghz run before each measured one")
    parser.add_argument("--repeat", type=int, default=3,
                        help="measured runs per target and step, taking turns; medians reported")
    parser.add_argument("--concurrency", default="1,16,64")
    parser.add_argument("--people", type=int, default=2000,
                        help="people in the seeded journeys (2,000: about 22,000 events)")
    parser.add_argument("--keys", type=int, default=500,
                        help="known identifiers (and their profiles) ghz cycles through")
    parser.add_argument("--stream-events", type=int, default=5000,
                        help="events per IngestStream run (0: skip)")
    parser.add_argument("--streams", type=int, default=4, help="the concurrent-streams run")
    parser.add_argument("--batch-size", type=int, default=500, help="IngestEvents seeding")
    parser.add_argument("--profile", choices=("auto", "always", "never"), default="auto",
                        help="py-spy the embedded store under Resolve load: when a target is "
                        "missed (auto), always or never")
    parser.add_argument("--profile-seconds", type=int, default=10)
    parser.add_argument("--out", type=Path, help="also write the JSON here (and the table "
                        "beside it, .md)")
    parser.add_argument("--serve-empty-handler", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--empty-profile", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--empty-work-us", type=float, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--calibrate", default="",
                        help="comma-separated microseconds, e.g. 25,50,100,200: also measure the "
                        "empty handler spinning that long per call (Resolve id_only at the "
                        "highest concurrency), to show what a handler's own cost does to req/s")
    store_flags(parser)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_empty_handler is not None:
        asyncio.run(serve_empty_handler(args.serve_empty_handler, args.empty_profile,
                                        args.empty_work_us))
        return 0
    concurrencies = [int(c) for c in args.concurrency.split(",") if c.strip()]
    names = [n.strip() for n in args.stores.split(",") if n.strip()]
    ghz = ghz_binary()
    notes: list[str] = []

    started = time.perf_counter()
    dataset = generate(GeneratorConfig(people=args.people, seed=args.seed))
    stream_sets = [stream_events(args.stream_events, args.seed + 1 + i)
                   for i in range(2)] if args.stream_events else []
    gc.freeze()  # the harness's data: keep the collector from rescanning it
    report: dict[str, Any] = {
        "benchmark": "grpc",
        "config": {"concurrency": concurrencies, "duration": args.duration,
                   "warmup": args.warmup, "repeat": args.repeat,
                   "connections": 1, "ghz": GHZ_VERSION,
                   "grpcio": grpc.__version__, "python": sys.version.split()[0],
                   "cpus": os.cpu_count(), "matching": args.matching,
                   "dataset": {"people": args.people, "events": len(dataset.events),
                               "seed": args.seed,
                               "generate_seconds": round(time.perf_counter() - started, 2)}},
        "notes": notes,
    }
    with tempfile.TemporaryDirectory(prefix="identity-bench-grpc-") as tmp, ExitStack() as stack:
        work = Path(tmp)
        args.neo4j_startup_s = None
        stores = stack.enter_context(stores_under_test(names, work, args)) if names else {}
        targets: list[Target] = []
        profiles: list[bytes] = []
        rows = candidates(dataset, args.keys)
        for name, (store, _) in stores.items():
            target = start_store(stack, name, store)
            print(f"seeding {name} with {len(dataset.events):,} events ...", file=sys.stderr)
            target.facts["seed_ingest_events"] = asyncio.run(
                seed(target.address, dataset.events, args.batch_size))
            known, profile_ids, encoded = asyncio.run(
                known_keys(target.address, rows, args.keys))
            target.requests = ghz_requests(known, profile_ids)
            target.facts.update({
                "known_identifiers": len(known), "profiles": len(profile_ids),
                "profile_bytes_median": len(median_profile(encoded)) if encoded else None})
            profiles = profiles or encoded
            targets.append(target)
        if args.neo4j_startup_s is not None:
            report["config"]["neo4j_startup_seconds"] = args.neo4j_startup_s

        profile_file = None
        if profiles:
            profile_file = work / "empty-profile.bin"
            profile_file.write_bytes(median_profile(profiles))
        empty = stack.enter_context(empty_handler(profile_file))
        if targets:
            empty.requests = targets[0].requests
        else:
            rows = rows[: args.keys]
            empty.requests = ghz_requests(rows, [f"p_{i:06d}" for i in range(len(rows))])
        empty.facts["profile"] = ("the median-size profile of the first store" if profiles
                                  else "fabricated (no store measured)")
        targets.insert(0, empty)

        print(f"ghz {GHZ_VERSION}: {args.duration} per run after a {args.warmup} warm-up",
              file=sys.stderr)
        report["load"] = load_matrix(ghz, targets, concurrencies, args.duration, args.warmup,
                                     args.repeat, work)
        report["ratios_to_empty_handler"] = ratios(report["load"], concurrencies)
        spins = [float(us) for us in args.calibrate.split(",") if us.strip()]
        if spins:
            report["calibration"] = calibrate(ghz, empty, spins, max(concurrencies),
                                              args.duration, args.warmup, args.repeat, work,
                                              profile_file)
        report["targets"] = {t.name: {"address": t.address, **t.facts} for t in targets}

        if stream_sets:
            report["ingest_stream"] = {}
            for target in targets:
                print(f"IngestStream on {target.name} ...", file=sys.stderr)
                report["ingest_stream"][target.name] = {
                    "1 stream": asyncio.run(ingest_stream(target.address, stream_sets[0], 1)),
                    f"{args.streams} streams": asyncio.run(
                        ingest_stream(target.address, stream_sets[1], args.streams))}

        report["verdict"] = verdicts(report["ratios_to_empty_handler"])
        failed = report["verdict"].get("status") == "FAIL"
        store_target = next((t for t in targets if t.name == TARGET_STORE), None)
        if store_target is not None and (args.profile == "always"
                                         or (args.profile == "auto" and failed)):
            print("profiling with py-spy ...", file=sys.stderr)
            top = max(concurrencies)
            report["profile"] = {
                f"{t.name} {call}": profile_under_load(ghz, t, call, top, args.profile_seconds,
                                                       work)
                for t, call in ((store_target, TARGET_CALL), (store_target, "resolve_id_only"),
                                (empty, TARGET_CALL))}

        if args.out and "profile" in report:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            for raw in work.glob("profile-*.txt"):
                shutil.copy(raw, args.out.with_name(f"{args.out.stem}.{raw.stem}.pyspy.txt"))

    publish(json.dumps(report, indent=2), args.out)
    print()
    publish(markdown(report), args.out.with_suffix(".md") if args.out else None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
