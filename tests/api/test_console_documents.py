"""Every GraphQL document the steward console sends (console/src/api/queries.ts) is valid
against the server's schema: a field renamed or removed on the server fails here, in the
Python suite, before any browser runs."""

from __future__ import annotations

import pytest
from graphql import parse, validate

from identity.api.graphql.schema import schema
from load_tests.bench_console import PAGE, QUERIES_TS, SEARCH, console_documents

DOCUMENTS = {name: text for name, text in console_documents(QUERIES_TS.read_text()).items()
             if text.lstrip().startswith(("query", "mutation", "subscription"))}


def test_the_console_declares_what_the_benchmark_measures() -> None:
    assert {*PAGE.values(), SEARCH} <= set(DOCUMENTS)
    assert len(DOCUMENTS) >= 15  # every page's queries and every action's mutation


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_each_console_document_validates_against_the_schema(name: str) -> None:
    errors = validate(schema._schema, parse(DOCUMENTS[name]))
    assert errors == [], [e.message for e in errors]
