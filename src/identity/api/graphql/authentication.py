"""Authentication in front of /graphql: the caller's Principal in the ASGI scope, or a 401.

Every GraphQL request and WebSocket is authenticated here, before strawberry reads it; the
scope each field needs is checked by the field (permissions.py). The GraphiQL page itself
(a GET asking for HTML, with no query) is served to anyone: it is static, and the queries it
sends carry their own `Authorization` header. A WebSocket opened without the header (a
browser cannot set one) authenticates with its connection_init payload instead.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

from identity.api.auth.authenticator import Authenticator, one_credential
from identity.api.auth.rate_limit import retry_after_header
from identity.domain.access import Principal, RateLimited, Unauthenticated

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
            principal = await self.authenticator.authenticate(one_credential(
                [v.decode("latin-1") for k, v in scope["headers"] if k == b"authorization"]))
        except Unauthenticated as exc:
            if authorization is None and (scope["type"] == "websocket"
                                          or _asks_for_ide(scope, headers)):
                principal = NOBODY  # a WebSocket authenticates in connection_init (http.py)
            else:
                await _refuse(scope, send, str(exc))
                return
        except RateLimited as exc:
            await _refuse(scope, send, str(exc), retry_after_s=exc.retry_after_s)
            return
        scope[PRINCIPAL_KEY] = principal
        await self.app(scope, receive, send)


def _asks_for_ide(scope: Scope, headers: dict[bytes, bytes]) -> bool:
    return (scope["type"] == "http" and scope["method"] == "GET"
            and not scope.get("query_string") and b"text/html" in headers.get(b"accept", b""))


async def _refuse(scope: Scope, send: Send, reason: str,
                  retry_after_s: float | None = None) -> None:
    """401, or 429 with Retry-After (whole seconds, rounded up) for a caller over its rate."""
    limited = retry_after_s is not None
    if scope["type"] == "websocket":  # before accept: the upgrade is answered 403 by the server
        await send({"type": "websocket.close", "code": 4429 if limited else 4401,
                    "reason": reason[:120]})
        return
    code = "RATE_LIMITED" if limited else "UNAUTHENTICATED"
    body = json.dumps({"errors": [{"message": reason, "extensions": {"code": code}}]}).encode()
    challenge = ((b"retry-after", retry_after_header(retry_after_s).encode())
                 if retry_after_s is not None else
                 (b"www-authenticate", b'Bearer realm="identity"'))
    await send({"type": "http.response.start", "status": 429 if limited else 401, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        challenge]})
    await send({"type": "http.response.body", "body": body})
