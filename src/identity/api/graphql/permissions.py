"""The scope each root field needs, checked before the operation runs.

Declared in one table, as gRPC's METHOD_SCOPES: a root field missing from it needs `admin`,
so a new field is closed until it is given its scope (tests/api/test_auth.py checks that
every field is listed). AUTHENTICATED (None) opens a field to every caller the server
authenticated, whatever its scopes: `viewer`, which only tells the caller who it is. The
check runs after validation and before execution, on the operation's root fields (fragments
included), so a denied operation runs nothing at all; it is not cached, as validation is,
because the same query text is allowed to one caller and not to another
(docs/architecture.md, "Security and privacy").
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from strawberry.extensions import SchemaExtension

from identity.domain.access import PermissionDenied, Principal, Scope

READ, PII, INGEST, STEWARD, ADMIN = (Scope.PROFILE_READ, Scope.PROFILE_READ_PII, Scope.INGEST,
                                     Scope.STEWARD, Scope.ADMIN)
AUTHENTICATED = None  # any caller that authenticated, whatever its scopes
ROOT_FIELD_SCOPES: dict[str, dict[str, Scope | None]] = {
    "query": {
        "viewer": AUTHENTICATED,
        "profile": READ, "profileByIdentifier": READ, "identifier": READ, "explain": READ,
        "explainProfile": READ, "search": READ, "profileHistory": READ,
        "latestChangePosition": READ,
        "reviewQueue": STEWARD, "splitPreview": STEWARD, "auditLog": STEWARD,
        "exportProfile": ADMIN,
    },
    "mutation": {
        "ingestEvents": INGEST,
        "merge": STEWARD, "split": STEWARD, "unlink": STEWARD, "decideReview": STEWARD,
        "undo": STEWARD, "setConsent": STEWARD,
        "eraseProfile": ADMIN, "liftSuppressions": ADMIN,
    },
    "subscription": {"profileChanges": READ},
}
_OPEN = frozenset({"__typename", "__schema", "__type"})


def required_scope(operation: str, field: str) -> Scope | None:
    """None: any authenticated caller (introspection, __typename, AUTHENTICATED fields)."""
    if field in _OPEN:
        return None
    return ROOT_FIELD_SCOPES.get(operation, {}).get(field, ADMIN)


def check(principal: Principal, operation: str, field: str) -> None:
    """Raises PermissionDenied when `principal` may not use the root field."""
    if (scope := required_scope(operation, field)) is not None:
        principal.require(scope, field)


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name and o.name.value == name), None)


def root_fields(document: DocumentNode, operation_name: str | None) -> tuple[str, list[str]]:
    """The operation's type (query, mutation, subscription) and its root field names."""
    operation = _operation(document, operation_name)
    if operation is None:
        return "query", []
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    names: list[str] = []
    seen: set[str] = set()

    def walk(selections: SelectionSetNode) -> None:
        for node in selections.selections:
            if isinstance(node, FieldNode):
                names.append(node.name.value)
            elif isinstance(node, InlineFragmentNode):
                walk(node.selection_set)
            elif isinstance(node, FragmentSpreadNode) and node.name.value not in seen:
                seen.add(node.name.value)
                if (fragment := fragments.get(node.name.value)) is not None:
                    walk(fragment.selection_set)

    walk(operation.selection_set)
    return operation.operation.value, names


class RequireScopes(SchemaExtension):
    """Refuses an operation naming a root field its caller's scopes do not cover: the
    response holds one error per such field, with code FORBIDDEN, and HTTP says 403
    (http.py). Subscriptions are checked by their resolver as well, as strawberry runs them
    past this hook."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None and context.result is None:
            operation, fields = root_fields(document, context.operation_name)
            errors = []
            for field in dict.fromkeys(fields):
                try:
                    check(context.context.principal, operation, field)
                except PermissionDenied as exc:
                    errors.append(GraphQLError(str(exc), original_error=exc,
                                               extensions={"code": "FORBIDDEN"}))
            if errors:
                context.result = ExecutionResult(data=None, errors=errors)
        yield
