"""What authentication costs per request: the same reads with it off and on, in one run.

Seeds a SQLite store with generated journeys, issues an API key into it and writes a JWKS,
then starts two `identity serve` on that one store: one in development mode (no
authentication), one taking API keys and JWTs. The same workloads take turns on both, run by
run (--repeat times after a warm-up; medians): `{ __typename }`, where authentication is the
largest share of the work a request can have, and `profile(id:)`, a real read; each with no
credential (development), an API key, and a signed JWT (RS256). gRPC GetProfile likewise,
development against a key. Prints JSON with req/s, latency, the server's CPU per request, and
each authenticated figure's ratio to development mode's.

    python -m load_tests.bench_auth [--events 3000] [--out load_tests/results/bench_auth.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack, suppress
from pathlib import Path
from typing import Any

import grpc
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from identity.domain.access import Scope
from identity.domain.types import Identifier
from identity.service import IdentityService
from identity.service.api_keys import ApiKeys
from identity.store import StoreConfig, open_store
from identity.synthetic import GeneratorConfig, generate, people_for_events
from identity.v1 import identity_pb2 as pb
from identity.v1 import identity_pb2_grpc
from load_tests.bench_graphql import PROFILE, Workload, drive
from load_tests.bench_grpc import cpu_seconds, median_of
from load_tests.bench_ingest import TRIVIAL, StoreUnderTest, ingest_service, percentiles_ms
from load_tests.server import free_port, identity_server
from load_tests.tools import publish

ISSUER, AUDIENCE = "https://login.bench.northwind.org/", "identity-bench"


async def seed(database: Path, events: list[dict[str, Any]]) -> tuple[list[str], str]:
    """The profiles the reads cycle through, and an API key that may read them."""
    store = StoreUnderTest(StoreConfig(kind="sqlite", sqlite_path=str(database)), [], {})
    await ingest_service(events, store, 500, matching=True)
    service = IdentityService(await open_store(store.config))
    try:
        # Its own rate, far above what is measured: the default per-key limit would refuse
        # most of the calls and measure that instead.
        # profile:read_pii, as development mode has: the same answers (in the clear, their
        # reads audited), so authentication is the only difference.
        issued = await ApiKeys(service.store).issue(
            "bench", frozenset({Scope.PROFILE_READ, Scope.PROFILE_READ_PII}),
            rate_per_s=1_000_000)
        profile_ids = await profile_ids_of(service, events)
    finally:
        await service.store.close()
    return profile_ids, issued.secret


async def profile_ids_of(service: IdentityService, events: list[dict[str, Any]]
                         ) -> list[str]:
    """Up to 300 profiles, found by the identifiers of the first events."""
    seen: list[Identifier] = []
    for event in events[:2000]:
        for raw in event.get("identifiers") or []:
            if isinstance(raw, dict) and raw.get("kind") in ("email", "customer_id"):
                with suppress(ValueError):  # an identifier the generator made malformed
                    seen.append(service.normalize(str(raw["kind"]), str(raw["value"])))
    found = await service.profile_ids(seen[:1000])
    return sorted({str(p) for p in found if p is not None})[:300]


def jwks_and_token(folder: Path) -> tuple[Path, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    path = folder / "jwks.json"
    path.write_text(json.dumps({"keys": [{**jwk, "kid": "bench", "use": "sig"}]}))
    token = jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "sub": "bench",
                        "scope": "profile:read profile:read_pii",
                        "exp": time.time() + 3600}, key, algorithm="RS256",
                       headers={"kid": "bench"})
    return path, token


async def drive_grpc(port: int, profile_ids: list[str], concurrency: int, seconds: float,
                     pid: int, metadata: tuple[tuple[str, str], ...] | None) -> dict[str, Any]:
    samples: list[float] = []
    errors = 0
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = identity_pb2_grpc.IdentityServiceStub(channel)

        async def loop(offset: int) -> None:
            nonlocal errors
            turn = offset
            while time.perf_counter() < deadline:
                sent = time.perf_counter()
                try:
                    await stub.GetProfile(pb.GetProfileRequest(
                        profile_id=profile_ids[turn % len(profile_ids)]), metadata=metadata)
                except grpc.aio.AioRpcError:
                    errors += 1
                samples.append(time.perf_counter() - sent)
                turn += concurrency

        cpu = cpu_seconds(pid)
        started = time.perf_counter()
        deadline = started + seconds
        await asyncio.gather(*(loop(k) for k in range(concurrency)))
        elapsed = time.perf_counter() - started
        cpu = cpu_seconds(pid) - cpu
    return {"rps": round(len(samples) / elapsed, 1), **percentiles_ms(samples),
            "server_cpu_ms_per_request": round(cpu * 1000 / max(1, len(samples)), 3),
            "count": len(samples), "errors": errors}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    dataset = generate(GeneratorConfig(people=people_for_events(args.events), seed=args.seed))
    with tempfile.TemporaryDirectory(prefix="identity-bench-auth-") as tmp, ExitStack() as stack:
        folder = Path(tmp)
        database = folder / "graph.db"
        print(f"seeding {len(dataset.events):,} events ...", file=sys.stderr)
        profile_ids, key = asyncio.run(seed(database, dataset.events))
        jwks, token = jwks_and_token(folder)
        env = {"IDENTITY_MODEL": str(folder / "no-model.json"),
               "IDENTITY_JWT_ISSUER": ISSUER, "IDENTITY_JWT_AUDIENCE": AUDIENCE,
               "IDENTITY_JWT_JWKS_FILE": str(jwks),
               # No default per-key rate (the key has its own): the limiter's check is
               # still made on every call, and counted in the cost.
               "IDENTITY_RATE_LIMIT": "0"}
        ports = {"development": free_port(), "authenticated": free_port()}
        servers = {name: stack.enter_context(identity_server(
            ["--database", str(database), "--grpc-port", str(ports[name])], env,
            dev=name == "development")) for name in ports}
        variants = {  # workload, server, credentials
            "development": ("development", None),
            "api_key": ("authenticated", f"Bearer {key}"),
            "jwt": ("authenticated", f"Bearer {token}"),
        }
        workloads = {"trivial": Workload("trivial", [json.dumps({"query": TRIVIAL}).encode()]),
                     "profile": Workload("profile", [json.dumps(
                         {"query": PROFILE, "variables": {"id": p}}).encode()
                         for p in profile_ids])}
        runs: dict[str, list[dict[str, Any]]] = {}

        def one(query: str, variant: str, seconds: float, measured: bool) -> None:
            server_name, credential = variants[variant]
            server = servers[server_name]
            headers = {"Authorization": credential} if credential else None
            figures = asyncio.run(drive(server.url, workloads[query], args.concurrency,
                                        seconds, server.process.pid, headers))
            if measured:
                runs.setdefault(f"graphql.{query}.{variant}", []).append(figures)

        def one_grpc(variant: str, seconds: float, measured: bool) -> None:
            server_name, credential = variants[variant]
            metadata = (("authorization", credential),) if credential else None
            figures = asyncio.run(drive_grpc(ports[server_name], profile_ids, args.concurrency,
                                             seconds, servers[server_name].process.pid,
                                             metadata))
            if measured:
                runs.setdefault(f"grpc.GetProfile.{variant}", []).append(figures)

        for measured, seconds, repeat in ((False, args.warmup, 1),
                                          (True, args.duration, args.repeat)):
            for _ in range(repeat):
                for query in workloads:
                    for variant in variants:
                        one(query, variant, seconds, measured)
                for variant in ("development", "api_key"):
                    one_grpc(variant, seconds, measured)
        results = {name: median_of(mine) for name, mine in runs.items()}
    ratios: dict[str, dict[str, float]] = {}
    for name, figures in results.items():
        api, query, variant = name.split(".")
        if variant == "development":
            continue
        base = results[f"{api}.{query}.development"]
        ratios[name] = {
            "rps_ratio": round(figures["rps"] / base["rps"], 3),
            "cpu_ratio": round(base["server_cpu_ms_per_request"]
                               / max(1e-9, figures["server_cpu_ms_per_request"]), 3),
            "added_server_cpu_us": round((figures["server_cpu_ms_per_request"]
                                          - base["server_cpu_ms_per_request"]) * 1000, 1)}
    for name, figures in results.items():
        print(f"  {name:<34} {figures['rps']:>8.1f} req/s  p50 {figures['p50_ms']:.2f} ms  "
              f"cpu/req {figures['server_cpu_ms_per_request']:.3f} ms  errors "
              f"{figures['errors']}", file=sys.stderr)
    report = {"benchmark": "auth_cost",
              "config": {"events": len(dataset.events), "profiles_read": len(profile_ids),
                         "concurrency": args.concurrency, "duration_s": args.duration,
                         "repeat": args.repeat, "cpus": os.cpu_count(),
                         "python": sys.version.split()[0]},
              "results": results, "ratios_to_development": ratios}
    publish(json.dumps(report, indent=2), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
