"""Credentials to a Principal: the one way every entry point authenticates a caller.

`Authorization: Bearer <credential>` over HTTP, the `authorization` metadata over gRPC. A
credential that starts `idk_` is an API key (service/api_keys.py); anything else is a JWT
(tokens.py), accepted only when a JWKS is configured (docs/architecture.md, "Security and
privacy").
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from identity.api.auth.rate_limit import RateLimiter
from identity.api.auth.tokens import TokenVerifier
from identity.domain.access import DEVELOPMENT, Principal, Unauthenticated
from identity.service.api_keys import ApiKeys, looks_like_key

log = logging.getLogger("identity.auth")

DEV_MODE_WARNING = ("DEVELOPMENT MODE: authentication is OFF; every caller can read every "
                    "profile in the clear, ingest, merge and erase. Never expose this server.")
NO_CREDENTIALS = "no credentials: send 'Authorization: Bearer <API key or JWT>'"


def one_credential(values: list[str]) -> str | None:
    """The one credential a request carries. Several are refused: HTTP servers and gRPC
    would each pick a different one of them, and a proxy a third."""
    if len(values) > 1:
        raise Unauthenticated(f"{len(values)} Authorization values: send one")
    return values[0] if values else None


class Authenticator:
    """`development`: authentication off, every caller holds every scope (`identity serve
    --dev`); said loudly at start and on /readyz. `keys` is called per request, so the store
    can open after the app is built."""

    def __init__(self, *, development: bool = False,
                 keys: Callable[[], ApiKeys] | None = None,
                 tokens: TokenVerifier | None = None,
                 limiter: RateLimiter | None = None) -> None:
        self.development = development
        self._keys = keys
        self._tokens = tokens
        self._limiter = limiter

    async def authenticate(self, authorization: str | None) -> Principal:
        """The caller named by an `Authorization` header (or gRPC metadata) value. Raises
        Unauthenticated saying what is wrong, never quoting the credential, and RateLimited
        when the caller is over its rate (rate_limit.py; development mode only when given a
        limiter)."""
        principal = await self._verify(authorization)
        if self._limiter is not None:
            self._limiter.admit(principal)
        return principal

    async def verify(self, authorization: str | None) -> Principal:
        """authenticate without taking a token from the caller's rate: an open WebSocket
        checks again that its credential still holds (a key revoked, a token expired)."""
        return await self._verify(authorization)

    def admit(self, principal: Principal) -> None:
        """One more request from a caller authenticated before: an operation sent on an open
        WebSocket takes a token as an HTTP request does. Raises RateLimited."""
        if self._limiter is not None:
            self._limiter.admit(principal)

    async def _verify(self, authorization: str | None) -> Principal:
        if self.development:
            return DEVELOPMENT
        if not authorization:
            raise Unauthenticated(NO_CREDENTIALS)
        scheme, _, credential = authorization.strip().partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            raise Unauthenticated("the Authorization value must read 'Bearer <API key or JWT>'")
        if looks_like_key(credential):
            if self._keys is None:
                raise Unauthenticated("API keys are not accepted here")
            principal, _ = await self._keys().verify(credential)
            return principal
        if self._tokens is None:
            raise Unauthenticated("the credential is not an API key (idk_...), and JWTs are "
                                  "not accepted: no JWKS is configured")
        return self._tokens.verify(credential)


# For tests and embedding: the service with authentication off, as `identity serve --dev`.
DEVELOPMENT_MODE = Authenticator(development=True)
