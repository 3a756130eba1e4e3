"""Credentials for tests that run the service with authentication on: API keys issued into
the store a server uses, and the headers and gRPC metadata that carry them."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from identity.config import Settings
from identity.domain.access import Scope, parse_scopes
from identity.service.api_keys import ApiKeys
from identity.store import GraphStore, open_store


async def issue_into(store: GraphStore, *scopes: Scope | str, rate_per_s: float | None = None
                     ) -> str:
    """A new key with `scopes` (an empty list is not allowed: give at least one)."""
    issued = await ApiKeys(store).issue("test key", parse_scopes(list(map(str, scopes))),
                                        rate_per_s)
    return issued.secret


async def issue_for(settings: Settings, *scopes: Scope | str,
                    rate_per_s: float | None = None) -> str:
    """A key in the store `settings` name (the server's)."""
    store = await open_store(settings.store_config())
    try:
        return await issue_into(store, *scopes, rate_per_s=rate_per_s)
    finally:
        await store.close()


def issue_key(settings: Settings, *scopes: Scope | str, rate_per_s: float | None = None
              ) -> str:
    """issue_for, from synchronous tests."""
    return asyncio.run(issue_for(settings, *scopes, rate_per_s=rate_per_s))


def with_auth(settings: Settings) -> Settings:
    """The same service with authentication on (test settings default to development)."""
    return replace(settings, dev_mode=False)


def bearer(credential: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {credential}"}


def grpc_metadata(credential: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {credential}"),)
