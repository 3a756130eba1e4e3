"""Requests built to freeze the server or grow its memory, through a real HTTP client: each
is refused before the work it would cost, with a reason."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.hostile.conftest import Service


def post(served: Service, query: str) -> dict[str, object]:
    response = served.http.post("/graphql", json={"query": query})
    assert response.status_code == 200, response.text[:300]
    body: dict[str, object] = response.json()
    return body


def message(body: dict[str, object]) -> str:
    errors = body.get("errors")
    assert isinstance(errors, list) and errors, body
    text: str = errors[0]["message"]
    return text


def fields(count: int, comment: str = "") -> str:
    return f"# {comment}\n{{ {' '.join(['__typename'] * count)} }}"


def test_a_body_over_the_limit_is_a_413_before_it_is_read(served: Service) -> None:
    response = served.http.post("/graphql", json={"query": fields(200_000)})  # 2.2 MB
    assert response.status_code == 413
    assert "larger than 1048576 bytes" in response.json()["errors"][0]["message"]


def test_a_streamed_body_over_the_limit_is_cut_off_with_a_413(served: Service) -> None:
    def chunks() -> Iterator[bytes]:  # no content-length: read until it is too much
        for _ in range(100):
            yield b" " * 1_048_576

    response = served.http.post("/graphql", content=chunks(),
                                headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_a_query_of_too_many_tokens_stops_parsing(served: Service) -> None:
    body = post(served, fields(90_000, "distinct"))  # just under 1 MB
    assert "Document contains more than 5000 tokens. Parsing aborted." in message(body)


def test_a_query_resolving_too_many_fields_is_refused_before_validation(served: Service) -> None:
    assert message(post(served, fields(600))) == (
        "the query selects 600 fields (fragments expanded); at most 500 are served per request")
    assert post(served, fields(400))["data"] == {"__typename": "Query"}


def test_fragments_spread_into_billions_of_fields_are_counted_not_expanded(
        served: Service) -> None:
    fragments = ["fragment f0 on Query { __typename }"] + [
        f"fragment f{i} on Query {{ ...f{i - 1} ...f{i - 1} }}" for i in range(1, 40)]
    body = post(served, "{ ...f39 }\n" + "\n".join(fragments))
    assert message(body).startswith(f"the query selects {2 ** 39} fields")


def test_a_fragment_cycle_is_reported_by_validation(served: Service) -> None:
    body = post(served, "{ ...a } fragment a on Query { ...b } fragment b on Query { ...a }")
    assert "Cannot spread fragment 'a' within itself" in message(body)


def test_introspection_as_graphiql_sends_it_is_served(served: Service) -> None:
    from graphql import get_introspection_query

    assert "__schema" in post(served, get_introspection_query())["data"]  # type: ignore[operator]


@pytest.mark.parametrize(("variables", "reason"), [
    ("[" * 2000 + "]" * 2000, "nested too deeply"),
    ('{"n": NaN}', "NaN is not a JSON number"),
])
def test_json_too_deep_or_not_json_is_a_400_that_says_why(served: Service, variables: str,
                                                          reason: str) -> None:
    response = served.http.post(
        "/graphql", content='{"query": "{__typename}", "variables": {"a": ' + variables + "}}",
        headers={"content-type": "application/json"})
    assert (response.status_code, response.text) == (
        400, f"Unable to parse request body as JSON: {reason}")


def test_unknown_paths_share_one_metrics_label(served: Service) -> None:
    for i in range(300):
        assert served.http.get(f"/random-{i}/x").status_code == 404
    served.http.request("BREW", "/graphql")
    metrics = served.http.get("/metrics").text
    series = [line for line in metrics.splitlines()
              if line.startswith("identity_http_request_seconds_count")]
    assert not any("random" in line or "BREW" in line for line in series)
    assert any('route="(unmatched)"' in line for line in series)
    # The process's series: however many paths were tried, only the app's routes (the
    # console's assets under one) and one label for the rest.
    routes = {match.group(1) for line in series
              if (match := re.search(r'route="([^"]*)"', line)) is not None}
    assert routes <= {"/graphql", "/healthz", "/readyz", "/metrics", "/", "/console",
                      "/console/assets", "(unmatched)"}, routes


@pytest.mark.parametrize(("body", "kind"), [("12", "number"), ('"hi"', "string"),
                                            ("null", "null"), ("true", "boolean")])
def test_a_body_that_is_json_but_not_an_object_is_a_400(served: Service, body: str,
                                                        kind: str) -> None:
    response = served.http.post("/graphql", content=body,
                                headers={"content-type": "application/json"})
    assert (response.status_code, response.text) == (
        400, 'Unable to parse request body as JSON: it must be an object such as '
        f'{{"query": ...}}, not a {kind}')


def test_a_refused_lookup_shows_the_callers_value_bounded(served: Service) -> None:
    body = served.http.post("/graphql", json={
        "query": "query($v: String!) { profileByIdentifier(kind: \"phone\", value: $v) { id } }",
        "variables": {"v": "12" * 100_000}}).json()
    assert len(message(body)) < 300
    body = post(served, '{ reviewQueue(after: "' + "A" * 500_000 + '") { endCursor } }')
    assert len(message(body)) < 300 and "is not a cursor this API returned" in message(body)


def test_the_field_budget_is_per_operation_as_a_request_runs_one(served: Service) -> None:
    two = (f"query A {{ {' '.join(['__typename'] * 300)} }}\n"
           f"query B {{ {' '.join(['__typename'] * 300)} }}")
    response = served.http.post("/graphql", json={"query": two, "operationName": "B"})
    assert response.json()["data"] == {"__typename": "Query"}
