"""Composition root: builds the store, the service and the ASGI app; start-up and shutdown."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette

from identity.api.graphql.http import create_app
from identity.config import Settings
from identity.service import IdentityService
from identity.store import open_store

log = logging.getLogger("identity")


def build_service(settings: Settings) -> IdentityService:
    """Raises StoreUnavailable with the reason when the store cannot be opened."""
    return IdentityService(
        open_store(settings.database),
        rules=settings.normalization_rules(),
        survivorship=settings.survivorship_rules(),
    )


def build_app(settings: Settings, prebuilt: IdentityService | None = None) -> Starlette:
    """The store opens in the lifespan unless the caller opened it first to report errors."""
    holder: list[IdentityService] = []

    def service() -> IdentityService:
        return holder[0]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        built = prebuilt or build_service(settings)
        holder.append(built)
        log.info("identity graph ready: store %s", settings.database)
        try:
            yield
        finally:
            await built.store.close()

    return create_app(service, lifespan)
