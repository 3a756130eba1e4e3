"""Bounds on a GraphQL document's size and cost, checked before the work they bound, and a
parse/validate cache that only keeps what is small; introspection, when turned off.

A query made of 200,000 `__typename` fields is 2 MB of text: parsing it whole takes seconds
of the one event loop, validating it (fields that may merge are compared pairwise) takes
longer still, and a cache keyed by query text keeps every distinct one. So parsing stops at
MAX_QUERY_TOKENS; the fields a document would resolve (fragments expanded) are counted
before validation and refused beyond MAX_QUERY_FIELDS; and only a query text of at most
MAX_CACHED_QUERY_CHARS is cached, which is what clients that send variables repeat
(docs/architecture.md, "Hostile input").

Fields are not all alike: `search(first: 100) { ... }` resolves its selection a hundred
times. So a document also has a cost: each field 1, and the selection under a field with a
page argument (PAGE_ARGUMENTS: `first`, its default when not given) counted that many times.
Over the server's `max_cost` it is refused before validation, naming both. Costs use the
request's variables, so they are counted per request, never cached (docs/architecture.md,
"Security and privacy").
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    get_named_type,
)
from strawberry.extensions import SchemaExtension

from identity.api.limits import DEFAULT_MAX_QUERY_COST
from identity.service.explain import MAX_PAGE as REVIEW_PAGE
from identity.service.history import MAX_VERSIONS_PAGE
from identity.service.search import MAX_PAGE as SEARCH_PAGE
from identity.service.steward import MAX_AUDIT_PAGE

MAX_QUERY_TOKENS = 5_000
MAX_QUERY_FIELDS = 500
MAX_CACHED_QUERY_CHARS = 4_096
CACHED_QUERIES = 256
MAX_QUERY_COST = DEFAULT_MAX_QUERY_COST
PAGE_ARGUMENTS = ("first",)
# No page holds more than this (search, the review queue and the audit log: 100; versions:
# 50): a larger `first` is refused by its field with the bounds it takes, a clearer error
# than a cost, and measured as the most it could be.
_MAX_MULTIPLIER = max(SEARCH_PAGE, REVIEW_PAGE, MAX_AUDIT_PAGE, MAX_VERSIONS_PAGE)
INTROSPECTION_FIELDS = ("__schema", "__type")
# Fragments spread inside one another: the parser bounds how deep selections nest, not this,
# and each level is two frames of `measure` (600 in 5,000 tokens passed Python's limit).
MAX_FRAGMENT_DEPTH = 100


class FragmentsTooDeep(Exception):
    """A document whose fragments spread inside one another deeper than MAX_FRAGMENT_DEPTH."""


@dataclass(frozen=True, slots=True)
class GraphQLLimits:
    """What a server's settings make of the bounds that may differ between servers; each
    request's context carries them (context.py). Introspection on: GraphiQL needs it."""

    max_cost: int = MAX_QUERY_COST
    introspection: bool = True


DEFAULT_LIMITS = GraphQLLimits()


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
_measured: _Lru[str, Measure] = _Lru(CACHED_QUERIES)  # those no variable changes


@dataclass(frozen=True, slots=True)
class Measure:
    fields: int  # field selections resolved, fragments expanded
    cost: int  # the same, a page's selection counted `first` times
    introspection: str | None  # an introspection field the document selects, if any
    by_variables: bool = False  # a page's size comes from a variable: measure per request


_NOTHING = Measure(0, 0, None)


def measure(document: DocumentNode, schema: GraphQLSchema | None = None,
            variables: Mapping[str, Any] | None = None) -> Measure:
    """The largest operation's fields and cost (a request runs one operation), each fragment
    measured once (with memory, so a fragment spread ten times in ten levels costs nothing to
    measure). Runs before validation, so anything unknown counts plainly: a field the schema
    lacks costs 1, a page argument that is not a whole number multiplies by 1. A fragment
    cycle measures nothing here: validation reports it. Raises FragmentsTooDeep."""
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    measured: dict[str, Measure] = {}
    visiting: set[str] = set()
    # A variable the request does not send takes its operation's default ($n: Int = 100),
    # as execution will; only then the argument's own.
    values = {**_variable_defaults(document), **(variables or {})}
    by_variables = False

    def type_named(name: str) -> GraphQLNamedType | None:
        return schema.get_type(name) if schema is not None else None

    def of_fragment(name: str) -> Measure:
        if name in measured:
            return measured[name]
        if name in visiting or name not in fragments:
            return _NOTHING
        if len(visiting) >= MAX_FRAGMENT_DEPTH:
            raise FragmentsTooDeep
        visiting.add(name)
        fragment = fragments[name]
        measured[name] = of_selections(fragment.selection_set,
                                       type_named(fragment.type_condition.name.value))
        visiting.discard(name)
        return measured[name]

    def of_selections(selections: SelectionSetNode | None,
                      parent: GraphQLNamedType | None) -> Measure:
        nonlocal by_variables
        fields = cost = 0
        introspection: str | None = None
        for node in selections.selections if selections else ():
            if isinstance(node, FieldNode):
                by_variables = by_variables or any(
                    a.name.value in PAGE_ARGUMENTS and isinstance(a.value, VariableNode)
                    for a in node.arguments or ())
                definition = _field(parent, node.name.value)
                below = of_selections(node.selection_set, get_named_type(definition.type)
                                      if definition is not None else None)
                fields += 1 + below.fields
                cost += 1 + _multiplier(node, definition, values) * below.cost
                if node.name.value in INTROSPECTION_FIELDS:
                    below = Measure(below.fields, below.cost, node.name.value)
            elif isinstance(node, InlineFragmentNode):
                below = of_selections(node.selection_set, type_named(
                    node.type_condition.name.value) if node.type_condition else parent)
                fields, cost = fields + below.fields, cost + below.cost
            elif isinstance(node, FragmentSpreadNode):
                below = of_fragment(node.name.value)
                fields, cost = fields + below.fields, cost + below.cost
            else:  # pragma: no cover - the three kinds of selection
                continue
            introspection = introspection or below.introspection
        return Measure(fields, cost, introspection)

    operations = [of_selections(d.selection_set, _root(schema, d.operation))
                  for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    return Measure(max((m.fields for m in operations), default=0),
                   max((m.cost for m in operations), default=0),
                   next((m.introspection for m in operations if m.introspection), None),
                   by_variables)


def _root(schema: GraphQLSchema | None, operation: OperationType) -> GraphQLObjectType | None:
    if schema is None:
        return None
    return {OperationType.QUERY: schema.query_type, OperationType.MUTATION:
            schema.mutation_type, OperationType.SUBSCRIPTION: schema.subscription_type
            }.get(operation)


def _field(parent: GraphQLNamedType | None, name: str) -> GraphQLField | None:
    if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
        found: GraphQLField | None = parent.fields.get(name)
        return found
    return None


def _variable_defaults(document: DocumentNode) -> dict[str, int]:
    """Whole-number defaults of the operations' variables; the largest where operations
    share a name (a request runs one of them: the dearest is the one to measure)."""
    defaults: dict[str, int] = {}
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        for variable in definition.variable_definitions or ():
            value = variable.default_value
            if isinstance(value, IntValueNode):
                number = int(value.value) if len(value.value) <= 9 else _MAX_MULTIPLIER
                name = variable.variable.name.value
                defaults[name] = max(number, defaults.get(name, number))
    return defaults


def _multiplier(node: FieldNode, definition: GraphQLField | None,
                variables: Mapping[str, Any]) -> int:
    """The page size a field's page argument asks for: as written, from its variable, else
    the argument's default; 1 for a field without one, or a value that is not a number."""
    if definition is None:
        return 1
    for name in PAGE_ARGUMENTS:
        if name not in definition.args:
            continue
        value: object = definition.args[name].default_value
        for argument in node.arguments or ():
            if argument.name.value != name:
                continue
            if isinstance(argument.value, IntValueNode):
                text = argument.value.value
                value = int(text) if len(text) <= 9 else _MAX_MULTIPLIER
            elif isinstance(argument.value, VariableNode):
                value = variables.get(argument.value.name.value, value)
            else:
                value = None
        if isinstance(value, int) and not isinstance(value, bool):
            return min(max(value, 1), _MAX_MULTIPLIER)
    return 1


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

    def _limits(self) -> GraphQLLimits:
        limits = getattr(self.execution_context.context, "limits", None)
        return limits if isinstance(limits, GraphQLLimits) else DEFAULT_LIMITS

    def _refusal(self, document: DocumentNode) -> GraphQLError | None:
        """The first bound the document is over, before validation (whose field-merging check
        is quadratic); counted per request, as the cost depends on the variables."""
        context, limits = self.execution_context, self._limits()
        query = context.query if self._cacheable() else None
        found = _measured.get(query) if query else None
        if found is None:
            try:
                found = measure(document, context.schema._schema, context.variables)
            except FragmentsTooDeep:
                return GraphQLError(
                    f"the query's fragments spread inside one another more than "
                    f"{MAX_FRAGMENT_DEPTH} deep", extensions={"code": "QUERY_TOO_LARGE"})
            if query and not found.by_variables:
                _measured.put(query, found)
        if found.fields > self.max_fields:
            return GraphQLError(
                f"the query selects {found.fields} fields (fragments expanded); at most "
                f"{self.max_fields} are served per request",
                extensions={"code": "QUERY_TOO_LARGE"})
        if found.cost > limits.max_cost:
            return GraphQLError(
                f"the query costs {found.cost} (each field 1, the fields under a page counted "
                f"`first` times); at most {limits.max_cost} is served per request",
                extensions={"code": "QUERY_TOO_COSTLY", "cost": found.cost,
                            "maxCost": limits.max_cost})
        if found.introspection and not limits.introspection:
            return GraphQLError(
                f"introspection is off on this server: {found.introspection} is not served "
                "(IDENTITY_GRAPHQL_INTROSPECTION=off)", extensions={"code": "INTROSPECTION_OFF"})
        return None

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        query, document = context.query, context.graphql_document
        cacheable = query is not None and self._cacheable()
        if context.pre_execution_errors is None and document is not None:
            if (refusal := self._refusal(document)) is not None:
                context.pre_execution_errors = [refusal]
                cacheable = False  # it depends on the variables and the server's limits
            elif cacheable and (cached := _validated.get(query or "")) is not None:
                context.pre_execution_errors = list(cached)
        yield
        if query and cacheable and context.pre_execution_errors is not None:
            _validated.put(query, tuple(context.pre_execution_errors))
