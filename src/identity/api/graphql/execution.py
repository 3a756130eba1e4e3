"""Execution of the schema's plain scalar fields without a resolver call each.

A profile read answers some sixty values (identifiers, golden fields, dates), nearly all
plain attributes of the types built in `from_domain`. graphql-core executes each one as a
field: resolve info built, strawberry's default resolver called, the result tested for an
awaitable, then completed; that walk was most of what a profile read cost above a trivial
query on the same server (README, "GraphQL reads beside a trivial query"). For a field
strawberry resolves by attribute (no resolver, no field extension, no permission) whose type
is a scalar or an enum, and which takes no arguments, the executor here reads the attribute
and coerces it as graphql-core would. Anything else (a null, an error, a value the scalar
refuses, a list, an object, a schema extension that wraps resolvers) takes graphql-core's
own path, so answers and errors are the same.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import GraphQLField, GraphQLNonNull, GraphQLObjectType, Undefined, is_leaf_type
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import AwaitableOrValue, Path
from graphql.pyutils.undefined import UndefinedType
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.field import StrawberryField

# How to read a plain field: strawberry's default resolver, the attribute, the coercer.
_Plan = tuple[Callable[[Any, str], object], str, Callable[[Any], Any]] | None
# By the field's id; each entry keeps its field alive, so an id is never reused under it.
_plans: dict[int, tuple[GraphQLField, _Plan]] = {}


def _plan(field_def: GraphQLField) -> _Plan:
    known = _plans.get(id(field_def))
    if known is not None:
        return known[1]
    field = field_def.extensions.get("strawberry-definition")
    leaf = field_def.type.of_type if isinstance(field_def.type, GraphQLNonNull) \
        else field_def.type
    plan: _Plan = None
    if (isinstance(field, StrawberryField) and field.is_basic_field and not field_def.args
            and getattr(field_def.resolve, "_is_default", False) and is_leaf_type(leaf)):
        plan = (field.default_resolver, field.python_name, leaf.coerce_output_value)
    _plans[id(field_def)] = (field_def, plan)
    return plan


class PlainFieldExecutor(StrawberryGraphQLCoreExecutionContext):
    """strawberry's executor, with plain scalar attributes read directly."""

    def execute_field(self, parent_type: GraphQLObjectType, source: Any,
                      field_details_list: FieldDetailsList, path: Path,
                      position_context: Any) -> AwaitableOrValue[Any] | UndefinedType:
        manager = self.middleware_manager  # strawberry's holds the extensions that resolve
        if manager is None or not manager.middlewares:
            node = field_details_list[0].node
            field_def = parent_type.fields.get(node.name.value)
            plan = _plan(field_def) if field_def is not None and not node.arguments else None
            if plan is not None:
                resolve, attribute, coerce = plan
                try:  # anything unusual: graphql-core's own path resolves and reports it
                    value = resolve(source, attribute)
                    plain = value is not None and not isinstance(value, Exception) \
                        and not self.is_awaitable(value)
                    coerced = coerce(value) if plain else None
                except Exception:
                    coerced = None
                if coerced is not None and coerced is not Undefined:
                    return coerced
        return super().execute_field(parent_type, source, field_details_list, path,
                                     position_context)
