"""The fuzzers of tests/hostile/test_fuzz*.py with thousands of examples, printed as JSON:
for each target, the examples tried, their outcomes (by GraphQL error code, HTTP status or
gRPC status code) and the failures found, each with its input (docs/architecture.md,
"Hostile input"). Targets come from the schema and the descriptors, so an operation or a
method added later is fuzzed here without an edit.

    python -m load_tests.fuzz [--examples 2000] [--graphql-examples 100] [--only grpc]
                              [--out load_tests/results/fuzz.json]

Each caller of load_tests/fuzzing.py's CALLERS (development mode, a key holding only
profile:read, no credentials) fuzzes every gRPC method and GraphQL operation on a
throwaway store of its own (SQLite, in a temporary folder; `--neo4j-uri` for Neo4j, whose
database is then written to). Exits 1 when any failure was found.
"""

from __future__ import annotations

import argparse
import functools
import json
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from identity.api.graphql.schema import schema
from identity.config import Settings
from load_tests.fuzzing import (
    CALLERS,
    Caller,
    ErrorLog,
    Served,
    Tally,
    check_event_message,
    drive,
    event_messages,
    graphql_cases,
    graphql_operations,
    logged_errors,
    methods,
    register_scalars,
    request_strategy,
)
from load_tests.tools import publish

DEFAULT_OUT = Path(__file__).parent / "results" / "fuzz.json"
KINDS = ("events", "grpc", "graphql")


def _settings(folder: Path, args: argparse.Namespace) -> Settings:
    local = Settings(database=str(folder / "graph.db"), model=str(folder / "model.json"),
                     rules=str(folder / "rules.toml"), grpc_port=None)
    if args.neo4j_uri is None:
        return local
    return Settings(store="neo4j", neo4j_uri=args.neo4j_uri, neo4j_user=args.neo4j_user,
                    neo4j_password=args.neo4j_password, model=local.model, rules=local.rules,
                    grpc_port=None)


def _progress(name: str, tally: Tally) -> None:
    print(f"{name}: {tally.examples} examples, {tally.failure_count} failures, "
          f"{tally.seconds:.0f} s", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> dict[str, Any]:
    targets: dict[str, Tally] = {}
    kinds = args.only or KINDS

    def fuzz(name: str, strategy: Any, check: Callable[[Any], str], log: ErrorLog,
             examples: int) -> None:
        tally = targets.setdefault(name, Tally())
        drive(strategy, check, examples=examples, errors=log, tally=tally)
        _progress(name, tally)

    started = time.monotonic()
    with logged_errors() as log:
        if "events" in kinds:
            fuzz("events: decode_event + parse_event + dead_letter", event_messages(),
                 check_event_message, log, _examples(args, "events"))
        if "graphql" in kinds:
            register_scalars()
        for name, caller in CALLERS.items():
            if not {"grpc", "graphql"} & set(kinds):
                break
            with tempfile.TemporaryDirectory() as folder, \
                    Served(_settings(Path(folder), args), caller) as served:
                if "grpc" in kinds:
                    for method in methods():
                        fuzz(f"grpc {method.name} ({name})",
                             request_strategy(method, served.known),
                             functools.partial(served.call, method), log,
                             _examples(args, "grpc", caller))
                if "graphql" in kinds:
                    for operation, negative in _operations():
                        fuzz(f"graphql {operation.label}{' negative' if negative else ''}"
                             f" ({name})", graphql_cases(operation, negative), served.post,
                             log, _examples(args, "graphql", caller))
    return {
        "examples_per_target": {kind: _examples(args, kind) for kind in kinds},
        "store": "neo4j" if args.neo4j_uri else "sqlite",
        "machine": f"{platform.machine()}, Python {platform.python_version()}",
        "seconds": round(time.monotonic() - started),
        "examples": sum(t.examples for t in targets.values()),
        "failures": sum(t.failure_count for t in targets.values()),
        "targets": {name: tally.report() for name, tally in targets.items()},
    }


def _examples(args: argparse.Namespace, kind: str, caller: Caller | None = None) -> int:
    """Per target: --examples, or the kind's own flag; refused callers are refused before
    any work, so a tenth of the examples shows it."""
    examples: int = getattr(args, f"{kind}_examples") or args.examples
    return examples if caller is None or caller.dev_mode else max(examples // 10, 20)


def _operations() -> Iterator[tuple[Any, bool]]:
    for operation in graphql_operations(schema):
        yield operation, False
        yield operation, True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=2000,
                        help="examples per target in development mode (a tenth for refused "
                        "callers); default 2000")
    for kind in KINDS:
        parser.add_argument(f"--{kind}-examples", type=int,
                            help=f"examples per {kind} target (default: --examples)")
    parser.add_argument("--only", action="append", choices=KINDS,
                        help="fuzz only these (repeatable)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--neo4j-uri")
    parser.add_argument("--neo4j-user", default="neo4j")
    parser.add_argument("--neo4j-password")
    args = parser.parse_args(argv)
    result = run(args)
    publish(json.dumps(result, indent=2, ensure_ascii=False), args.out)
    return 1 if result["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
