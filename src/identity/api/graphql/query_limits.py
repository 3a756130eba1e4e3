"""Bounds on a GraphQL document's size and cost, checked before the work they bound, and a
parse/validate cache that only keeps what is small.

A query made of 200,000 `__typename` fields is 2 MB of text: parsing it whole takes seconds
of the one event loop, validating it (fields that may merge are compared pairwise) takes
longer still, and a cache keyed by query text keeps every distinct one. So parsing stops at
MAX_QUERY_TOKENS; the fields a document would resolve (fragments expanded) are counted
before validation and refused beyond MAX_QUERY_FIELDS; and only a query text of at most
MAX_CACHED_QUERY_CHARS is cached, which is what clients that send variables repeat
(docs/architecture.md, "Hostile input").
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Generic, TypeVar

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from strawberry.extensions import SchemaExtension

MAX_QUERY_TOKENS = 5_000
MAX_QUERY_FIELDS = 500
MAX_CACHED_QUERY_CHARS = 4_096
CACHED_QUERIES = 256


K = TypeVar("K")
V = TypeVar("V")


class _Lru(Generic[K, V]):
    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        if (value := self._items.get(key)) is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        if len(self._items) > self._size:
            self._items.popitem(last=False)


# Module level, as strawberry's own caches: one schema, shared by every request.
_documents: _Lru[str, DocumentNode] = _Lru(CACHED_QUERIES)
_validated: _Lru[str, tuple[GraphQLError, ...]] = _Lru(CACHED_QUERIES)


def field_count(document: DocumentNode) -> int:
    """The field selections the document's largest operation would resolve, each fragment
    counted once per spread (with memory, so a fragment spread ten times in ten levels
    costs nothing to count). A fragment cycle counts nothing here: validation reports it."""
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    counted: dict[str, int] = {}
    visiting: set[str] = set()

    def of_fragment(name: str) -> int:
        if name in counted:
            return counted[name]
        if name in visiting or name not in fragments:
            return 0
        visiting.add(name)
        counted[name] = of_selections(fragments[name].selection_set)
        visiting.discard(name)
        return counted[name]

    def of_selections(selections: SelectionSetNode | None) -> int:
        total = 0
        for node in selections.selections if selections else ():
            if isinstance(node, FieldNode):
                total += 1 + of_selections(node.selection_set)
            elif isinstance(node, InlineFragmentNode):
                total += of_selections(node.selection_set)
            elif isinstance(node, FragmentSpreadNode):
                total += of_fragment(node.name.value)
        return total

    # A request runs one operation: the largest is what it could cost.
    return max((of_selections(d.selection_set) for d in document.definitions
                if isinstance(d, OperationDefinitionNode)), default=0)


class QueryLimits(SchemaExtension):
    """Parsing stops at `max_tokens`; a document resolving more than `max_fields` fields is
    refused before validation; parse and validation results are cached for short queries
    only."""

    def __init__(self, *, max_tokens: int = MAX_QUERY_TOKENS,
                 max_fields: int = MAX_QUERY_FIELDS) -> None:
        self.max_tokens = max_tokens
        self.max_fields = max_fields

    def _cacheable(self) -> bool:
        query = self.execution_context.query
        return query is not None and len(query) <= MAX_CACHED_QUERY_CHARS

    def on_operation(self) -> Iterator[None]:
        self.execution_context.parse_options["max_tokens"] = self.max_tokens
        yield

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        query = context.query if self._cacheable() else None
        if query is not None:
            context.graphql_document = _documents.get(query)
        yield
        if query is not None and context.graphql_document is not None \
                and not context.pre_execution_errors:
            _documents.put(query, context.graphql_document)

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        query, document = context.query, context.graphql_document
        if context.pre_execution_errors is None and document is not None:
            cached = _validated.get(query) if query and self._cacheable() else None
            if cached is not None:
                context.pre_execution_errors = list(cached)
            elif (fields := field_count(document)) > self.max_fields:
                context.pre_execution_errors = [GraphQLError(
                    f"the query selects {fields} fields (fragments expanded); at most "
                    f"{self.max_fields} are served per request")]
        yield
        if query and self._cacheable() and context.pre_execution_errors is not None:
            _validated.put(query, tuple(context.pre_execution_errors))
