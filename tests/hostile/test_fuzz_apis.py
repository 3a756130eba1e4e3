"""Fuzzing the APIs as `identity serve` builds them (load_tests/fuzzing.py): schemathesis
queries for every GraphQL operation, valid and schema-breaking, and hypothesis-built protobuf
messages for every gRPC method, read from the schema and the descriptors, so an operation
or method added later is fuzzed here without an edit. Every answer is data, a GraphQL error
with a message, a 4xx with a reason, OK or an expected gRPC status with details; never a 5xx,
a masked bug, UNKNOWN or INTERNAL, and nothing is logged at ERROR. Mutations included, each
run on a throwaway store, seeded; development mode on both stores, then a key with only
profile:read and a caller without credentials (the longer run: load_tests/fuzz.py)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest
from hypothesis import strategies as st

from identity.api.graphql.schema import schema
from identity.config import Settings
from load_tests.fuzzing import (
    CALLERS,
    Failure,
    Served,
    Tally,
    drive,
    graphql_cases,
    graphql_operations,
    graphql_outcome,
    logged_errors,
    methods,
    register_scalars,
    request_strategy,
    status_outcome,
)
from tests.neo4j_fixtures import Neo4jAccess, wiped

# Examples per operation or method: development mode reaches the work behind validation;
# refused callers are refused before it, so a few show that.
EXAMPLES = {"development": 15, "read-only key": 3, "no credentials": 2}
STORES = ["sqlite", pytest.param("neo4j", marks=pytest.mark.neo4j)]


def _settings(store: str, folder: Path, request: pytest.FixtureRequest) -> Settings:
    local = Settings(database=str(folder / "graph.db"), model=str(folder / "model.json"),
                     rules=str(folder / "rules.toml"))
    if store == "sqlite":
        return local
    access: Neo4jAccess = request.getfixturevalue("neo4j_access")
    wiped(access)
    return Settings(store="neo4j", neo4j_uri=access.uri, neo4j_user=access.user,
                    neo4j_password=access.password, model=local.model, rules=local.rules)


def _served(store: str, caller: str, request: pytest.FixtureRequest,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    settings = _settings(store, tmp_path_factory.mktemp("fuzz"), request)
    with Served(settings, CALLERS[caller]) as served:
        yield served


@pytest.fixture(scope="module", params=STORES)
def developer(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[Served]:
    yield from _served(request.param, "development", request, tmp_path_factory)


@pytest.fixture(scope="module", params=["read-only key", "no credentials"])
def refused(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[tuple[str, Served]]:
    for served in _served("sqlite", request.param, request, tmp_path_factory):
        yield request.param, served


def _fuzz_graphql(served: Served, examples: int) -> dict[str, Tally]:
    register_scalars()
    tallies: dict[str, Tally] = {}
    with logged_errors() as errors:
        for operation in graphql_operations(schema):
            for negative in (False, True):
                name = f"{operation.label}{' negative' if negative else ''}"
                tallies[name] = drive(graphql_cases(operation, negative), served.post,
                                      examples=examples, errors=errors, tally=Tally())
    return tallies


def _fuzz_grpc(served: Served, examples: int) -> dict[str, Tally]:
    tallies: dict[str, Tally] = {}
    with logged_errors() as errors:
        for method in methods():
            tallies[method.name] = drive(request_strategy(method, served.known),
                                         functools.partial(served.call, method),
                                         examples=examples, errors=errors, tally=Tally())
    return tallies


def _no_failures(tallies: dict[str, Tally]) -> None:
    failed = {name: tally.failures for name, tally in tallies.items() if tally.failure_count}
    assert not failed, "\n".join(f"{name}: {failures}" for name, failures in failed.items())
    assert all(tally.examples for tally in tallies.values())


def _outcomes(tallies: dict[str, Tally]) -> set[str]:
    return {outcome for tally in tallies.values() for outcome in tally.outcomes}


def test_graphql_in_development_mode(developer: Served) -> None:
    tallies = _fuzz_graphql(developer, EXAMPLES["development"])
    _no_failures(tallies)
    assert "data" in _outcomes(tallies)  # some queries got through to the service


def test_grpc_in_development_mode(developer: Served) -> None:
    tallies = _fuzz_grpc(developer, EXAMPLES["development"])
    _no_failures(tallies)
    assert {"OK", "INVALID_ARGUMENT"} <= _outcomes(tallies)


# The consent, erasure and export operations, each of which must get past validation to the
# work behind it at least once: a global "some query answered data" holds even if every one of
# them is refused. Erasure last, as it uses up the seeded profiles the others need.
REACHED = {"graphql": ("Mutation.setConsent", "Query.exportProfile", "Mutation.eraseProfile"),
           "grpc": ("SetConsent", "ExportProfile", "EraseProfile")}


@pytest.mark.parametrize("protocol", sorted(REACHED))
def test_consent_erasure_and_export_are_reached_past_validation(
        protocol: str, request: pytest.FixtureRequest,
        tmp_path_factory: pytest.TempPathFactory) -> None:
    wanted = REACHED[protocol]
    for served in _served("sqlite", "development", request, tmp_path_factory):
        if protocol == "graphql":
            register_scalars()
            operations = {op.label: op for op in graphql_operations(schema)}
            targets = [(name, graphql_cases(operations[name]), served.post) for name in wanted]
        else:
            by_name = {method.name: method for method in methods()}
            targets = [(name, request_strategy(by_name[name], served.known),
                        functools.partial(served.call, by_name[name])) for name in wanted]
        with logged_errors() as errors:
            tallies = {name: drive(strategy, check, examples=EXAMPLES["development"],
                                   errors=errors, tally=Tally())
                       for name, strategy, check in targets}
    _no_failures(tallies)
    answered = "data" if protocol == "graphql" else "OK"
    unreached = {name: dict(t.outcomes) for name, t in tallies.items()
                 if answered not in t.outcomes}
    assert not unreached, f"only refused: {unreached}"


def test_graphql_for_refused_callers(refused: tuple[str, Served]) -> None:
    caller, served = refused
    tallies = _fuzz_graphql(served, EXAMPLES[caller])
    _no_failures(tallies)
    expected = "HTTP 403" if caller == "read-only key" else "HTTP 401"
    assert expected in _outcomes(tallies)
    if caller == "no credentials":  # refused before anything is read, but a body too large
        assert _outcomes(tallies) <= {"HTTP 401", "HTTP 413"}


def test_grpc_for_refused_callers(refused: tuple[str, Served]) -> None:
    caller, served = refused
    tallies = _fuzz_grpc(served, EXAMPLES[caller])
    _no_failures(tallies)
    if caller == "no credentials":
        assert _outcomes(tallies) == {"UNAUTHENTICATED"}
    else:
        assert "PERMISSION_DENIED" in _outcomes(tallies)


def test_the_oracle_refuses_what_a_bug_answers() -> None:
    """Each check can fail: a 5xx, a masked bug, an error without a message, a bare 4xx,
    INTERNAL or UNKNOWN, a status without details, and an ERROR logged during a call."""
    for status, body in [(500, b"Internal Server Error"), (400, b""),
                         (200, b'{"data": null, "errors": [{"message": "Unexpected error."}]}'),
                         (200, b'{"data": null, "errors": [{"message": ""}]}'),
                         (200, b"<html>")]:
        with pytest.raises(Failure):
            graphql_outcome(httpx.Response(status, content=body))
    method = methods()[0]
    for code, details in [(grpc.StatusCode.INTERNAL, "Unexpected error."),
                          (grpc.StatusCode.UNKNOWN, "boom"),
                          (grpc.StatusCode.INVALID_ARGUMENT, " ")]:
        with pytest.raises(Failure):
            status_outcome(method, code, details)
    assert status_outcome(method, grpc.StatusCode.NOT_FOUND, "no such profile") == "NOT_FOUND"

    def logs_a_bug(value: int) -> str:
        logging.getLogger("identity.grpc").error("unexpected KeyError in Resolve")
        return "OK"

    with logged_errors() as errors:
        tally = drive(st.integers(), logs_a_bug, examples=3, errors=errors, tally=Tally())
    assert tally.failure_count == 3 and tally.outcomes == {"failure": 3}
