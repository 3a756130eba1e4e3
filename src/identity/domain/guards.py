"""Over-merge guards: hub detection (DESIGN §2.7). Pure: no I/O.

A shared family tablet or a store kiosk is linked to the strong identifiers of many people; if
it kept bridging, one device would fold a household, or a whole store, into one profile. A node
whose distinct neighbors of one strong kind exceed the limit is a hub: its links stay in the
graph, inactive, with the reason, and it no longer bridges profiles.

Whether a node is a hub depends only on the set of its links, never on the order they came in,
so the partition stays independent of arrival order (DESIGN §2.3).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from identity.domain.types import EXTERNAL_PREFIX, Identifier, IdentifierKind

EVERY_EXTERNAL = EXTERNAL_PREFIX + "*"  # one limit for each external system's ids

DEFAULT_HUB_LIMITS: Mapping[str, int] = {
    IdentifierKind.CUSTOMER_ID: 1,  # one account per person: two accounts on a device is sharing
    IdentifierKind.EMAIL: 3,  # a person's main, second and mistyped addresses
    IdentifierKind.PHONE: 3,
    EVERY_EXTERNAL: 1,  # one loyalty card, one CRM record, per system
}


@dataclass(frozen=True)
class HubRules:
    """How many distinct neighbors of each strong kind a node may have before it is a hub."""

    limits: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_HUB_LIMITS))

    def limit(self, kind: str) -> int | None:
        if kind in self.limits:
            return self.limits[kind]
        if kind.startswith(EXTERNAL_PREFIX):
            return self.limits.get(EVERY_EXTERNAL)
        return None

    def watches(self, kind: str) -> bool:
        return self.limit(kind) is not None

    @property
    def kinds(self) -> list[str]:
        return sorted(k for k in self.limits if k != EVERY_EXTERNAL)

    @property
    def kind_prefixes(self) -> list[str]:
        return [EXTERNAL_PREFIX] if EVERY_EXTERNAL in self.limits else []


def hub_reason(node: Identifier, neighbors: Iterable[Identifier], rules: HubRules) -> str | None:
    """Neighbors of the node's own kind do not count: they are never its bridges."""
    counts = Counter(n.kind for n in set(neighbors) if rules.watches(n.kind) and
                     n.kind != node.kind)
    for kind, count in sorted(counts.items()):
        limit = rules.limit(kind)
        if limit is not None and count > limit:
            return f"hub: linked to {count} distinct {kind} identifiers (limit {limit})"
    return None
