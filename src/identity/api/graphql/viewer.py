"""GraphQL's `viewer`: the caller as the server authenticated it, so a client (the steward
console) shows only the actions its key may take. Any authenticated caller may ask
(permissions.py); the scopes themselves are still checked by every other field."""

from __future__ import annotations

import strawberry

from identity.api.graphql.context import Context
from identity.domain.access import DEVELOPMENT, Principal, Scope


@strawberry.type(description="Who is calling: the caller this request authenticated as.")
class Viewer:
    subject: str = strawberry.field(description="key:<id> for an API key, jwt:<sub> for a "
                                    "token, development when authentication is off; the "
                                    "audit log names the caller by it.")
    scopes: list[str] = strawberry.field(description="The scopes this caller holds, such as "
                                         "profile:read; admin holds (and lists) every one.")
    development: bool = strawberry.field(description="True when the server runs with "
                                         "authentication off (identity serve --dev).")

    @classmethod
    def of(cls, principal: Principal) -> Viewer:
        return cls(subject=principal.subject,
                   scopes=[scope.value for scope in Scope if principal.allows(scope)],
                   development=principal.via == DEVELOPMENT.via)


async def resolve_viewer(info: strawberry.Info[Context, None]) -> Viewer:
    return Viewer.of(info.context.principal)
