"""DataLoader batch functions over service reads, against N+1 queries."""

from __future__ import annotations

from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from identity.domain.links import Link
from identity.domain.types import Identifier
from identity.service import IdentityService, ProfileView


def profile_loader(service: IdentityService) -> DataLoader[str, ProfileView | None]:
    async def load(ids: list[str]) -> Sequence[ProfileView | None]:
        return await service.profiles(ids)

    return DataLoader(load_fn=load)


def links_loader(service: IdentityService) -> DataLoader[Identifier, list[Link]]:
    async def load(identifiers: list[Identifier]) -> Sequence[list[Link]]:
        return await service.links(identifiers)

    return DataLoader(load_fn=load)
