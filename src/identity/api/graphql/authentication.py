"""Authentication in front of /graphql: the caller's Principal in the ASGI scope, or a 401.

Every GraphQL request and WebSocket is authenticated here, before strawberry reads it; the
scope each field needs is checked by the field (permissions.py). The GraphiQL page itself
(a GET asking for HTML, with no query) is served to anyone: it is static, and the queries it
sends carry their own `Authorization` header.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

from identity.api.auth.authenticator import Authenticator
from identity.domain.access import Principal, Unauthenticated

PRINCIPAL_KEY = "identity.principal"
# The GraphiQL page's reader: no scope, so whatever it sends without a header is refused.
NOBODY = Principal("anonymous", frozenset(), "none")


class Authenticate:
    def __init__(self, app: ASGIApp, authenticator: Authenticator,
                 paths: tuple[str, ...] = ("/graphql",)) -> None:
        self.app = app
        self.authenticator = authenticator
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        authorization = headers.get(b"authorization")
        try:
            principal = await self.authenticator.authenticate(
                authorization.decode("latin-1") if authorization is not None else None)
        except Unauthenticated as exc:
            if authorization is None and _asks_for_ide(scope, headers):
                principal = NOBODY
            else:
                await _refuse(scope, send, str(exc))
                return
        scope[PRINCIPAL_KEY] = principal
        await self.app(scope, receive, send)


def _asks_for_ide(scope: Scope, headers: dict[bytes, bytes]) -> bool:
    return (scope["type"] == "http" and scope["method"] == "GET"
            and not scope.get("query_string") and b"text/html" in headers.get(b"accept", b""))


async def _refuse(scope: Scope, send: Send, reason: str) -> None:
    if scope["type"] == "websocket":  # before accept: the upgrade is answered 403 by the server
        await send({"type": "websocket.close", "code": 4401, "reason": reason[:120]})
        return
    body = json.dumps({"errors": [{"message": reason,
                                   "extensions": {"code": "UNAUTHENTICATED"}}]}).encode()
    await send({"type": "http.response.start", "status": 401, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"www-authenticate", b'Bearer realm="identity"')]})
    await send({"type": "http.response.body", "body": body})
