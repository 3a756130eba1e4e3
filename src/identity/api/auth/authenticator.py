"""Credentials to a Principal: the one way every entry point authenticates a caller."""

from __future__ import annotations

import logging

from identity.domain.access import DEVELOPMENT, Principal, Unauthenticated

log = logging.getLogger("identity.auth")


class Authenticator:
    """`development`: authentication off, every caller holds every scope (`identity serve
    --dev`); said loudly at start and on /readyz."""

    def __init__(self, *, development: bool = False) -> None:
        self.development = development

    async def authenticate(self, authorization: str | None) -> Principal:
        """The caller named by an `Authorization` header (or gRPC metadata) value. Raises
        Unauthenticated saying what is wrong, never quoting the credential."""
        if self.development:
            return DEVELOPMENT
        if not authorization:
            raise Unauthenticated("no credentials: send 'Authorization: Bearer <API key or JWT>'")
        raise Unauthenticated("the credentials do not verify")


# For tests and embedding: the service with authentication off, as `identity serve --dev`.
DEVELOPMENT_MODE = Authenticator(development=True)
