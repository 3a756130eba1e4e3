"""The typed per-request context: the service and this request's dataloaders."""

from __future__ import annotations

from dataclasses import dataclass, field

from strawberry.dataloader import DataLoader

from identity.api.graphql.loaders import links_loader, profile_loader
from identity.api.graphql.query_limits import DEFAULT_LIMITS, GraphQLLimits
from identity.domain.access import Principal
from identity.domain.links import Link
from identity.domain.types import Identifier
from identity.service import IdentityService, ProfileView
from identity.service.disclosure import Disclosure


@dataclass
class Context:
    """Loaders are made per request, so their cache never outlives the request. `principal`
    is the authenticated caller (docs/architecture.md, "Security and privacy")."""

    service: IdentityService
    principal: Principal
    limits: GraphQLLimits = field(default=DEFAULT_LIMITS, kw_only=True)  # query_limits.py
    profiles: DataLoader[str, ProfileView | None] = field(init=False)
    links: DataLoader[Identifier, list[Link]] = field(init=False)
    # What this caller may see of personal data: every result passes through it.
    disclosure: Disclosure = field(init=False)

    def __post_init__(self) -> None:
        self.profiles = profile_loader(self.service)
        self.links = links_loader(self.service)
        self.disclosure = self.service.disclosure(self.principal)

    def act_as(self, principal: Principal) -> None:
        """The caller a WebSocket authenticated after it opened (in connection_init), or
        again: what it may see follows it."""
        self.principal = principal
        self.disclosure = self.service.disclosure(principal)
