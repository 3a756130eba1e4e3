"""Over-merge guards: hubs, and limits per profile (docs/architecture.md, invariant 7).
Pure: no I/O.

A shared family tablet or a store kiosk is linked to the strong identifiers of many people; if
it kept bridging, one device would fold a household, or a whole store, into one profile. A node
whose distinct neighbors of one strong kind exceed the hub limit is a hub: its links stay in
the graph, inactive, with the reason, and it no longer bridges profiles.

A device seen with one member's account and another member's email is no hub, yet it bridges
two people. So a profile also holds at most so many identifiers of each kind (one customer id,
a handful of emails...): links are taken strongest first (`link_order`), and a link that would
give one profile more than its limit stays inactive, held by the limit (domain.partition).

Both depend only on the set of links and their event timestamps, never on the order they came
in, so the partition stays independent of arrival order (invariant 3).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from identity.domain.links import LinkRule
from identity.domain.types import (
    EXTERNAL_PREFIX,
    KIND_PRIORITY,
    Identifier,
    IdentifierKind,
    to_micros,
)

EVERY_EXTERNAL = EXTERNAL_PREFIX + "*"  # one limit for each external system's ids

DEFAULT_HUB_LIMITS: Mapping[str, int] = {
    IdentifierKind.CUSTOMER_ID: 1,  # one account per person: two accounts on a device is sharing
    IdentifierKind.EMAIL: 3,  # a person's main, second and mistyped addresses
    IdentifierKind.PHONE: 3,
    EVERY_EXTERNAL: 1,  # one loyalty card, one CRM record, per system
}

# In the spirit of Segment's identity graph rules: one account per profile, a handful of each
# other strong kind, and bounds on the weak ones so that a bot or a kiosk chain of cookies and
# sessions cannot grow one profile without end.
DEFAULT_PROFILE_LIMITS: Mapping[str, int] = {
    IdentifierKind.CUSTOMER_ID: 1,
    IdentifierKind.EMAIL: 5,
    IdentifierKind.PHONE: 5,
    EVERY_EXTERNAL: 2,
    IdentifierKind.DEVICE_ID: 20,
    IdentifierKind.ORDER_ID: 1000,
    IdentifierKind.ANONYMOUS_ID: 200,
    IdentifierKind.SESSION_ID: 1000,
}
# Strong kinds: reaching their limit says two people met. Weak ones: a bot or a shared terminal.
WEAK_KINDS = frozenset({IdentifierKind.DEVICE_ID, IdentifierKind.ORDER_ID,
                        IdentifierKind.ANONYMOUS_ID, IdentifierKind.SESSION_ID})

# Links that join profiles once every guard agrees; possible matches and vetoed pairs never do.
JOINING_RULES = frozenset({LinkRule.SAME_EVENT.value, LinkRule.PROBABILISTIC.value,
                           LinkRule.MANUAL.value})
# A steward's constraints: the two ends of such a link are never joined (NEVER), or are never
# joined by a direct link (UNLINKED), whatever arrives later.
NEVER_RULES = frozenset({LinkRule.VETOED.value, LinkRule.NEVER.value})


def _per_kind(table: Mapping[str, int], kind: str) -> int | None:
    if kind in table:
        return table[kind]
    if kind.startswith(EXTERNAL_PREFIX):
        return table.get(EVERY_EXTERNAL)
    return None


@dataclass(frozen=True)
class HubRules:
    """How many distinct neighbors of each strong kind a node may have before it is a hub."""

    limits: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_HUB_LIMITS))

    def limit(self, kind: str) -> int | None:
        return _per_kind(self.limits, kind)

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


# (class, weakness, strength, first seen in microseconds, a, b, rule): lower is decided first.
# Class -1: a steward's merge, before everything the data says. Class 0: a link seen in an
# event between two strong identifiers (account, email, phone, external id); class 1: a
# probabilistic one, ranked by its score (weakness = 1 - score) alone; class 2: a link seen
# in an event through a weak identifier (a device, a cookie, a session, an order). Within a
# class, the rank of the weaker end, then of the stronger one.
LinkOrder = tuple[int, float, float, int, str, str, str]
STEWARD, STRONG, SCORED, THROUGH_WEAK = -1, 0, 1, 2

_HELD = re.compile(r"^per-profile limit: .* hold (\d+) (\S+) identifiers \(limit (\d+)\)")


@dataclass(frozen=True)
class ProfileLimits:
    """At most `limits[kind]` identifiers of a kind in one profile (`external:*` for each
    external system); `priority` ranks kinds strongest first: a link through a weaker one
    yields first when a limit is reached."""

    limits: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_PROFILE_LIMITS))
    priority: tuple[str, ...] = KIND_PRIORITY
    # kind -> its rank in `priority` (`external:*` as `external:`): every link's order asks.
    _ranks: Mapping[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for kind, limit in self.limits.items():
            if limit < 1:
                raise ValueError(f"limit for {kind} must be at least 1, got {limit}")
        ranks: dict[str, int] = {}
        for index, listed in enumerate(self.priority):
            ranks.setdefault(EXTERNAL_PREFIX if listed == EVERY_EXTERNAL else listed, index)
        object.__setattr__(self, "_ranks", ranks)

    def limit(self, kind: str) -> int | None:
        return _per_kind(self.limits, kind)

    def rank(self, kind: str) -> int:
        """Lower is stronger. An external system ranks where it is listed by name, else in the
        `external:` (or `external:*`) slot; a kind left out ranks after every listed one."""
        found = self._ranks.get(kind)
        if found is None and kind.startswith(EXTERNAL_PREFIX):
            found = self._ranks.get(EXTERNAL_PREFIX)
        return len(self.priority) if found is None else found

    def broken(self, counts: Mapping[str, int], allowed: Mapping[str, int] | None = None
               ) -> tuple[str, int, int] | None:
        """(kind, count, limit) of the strongest kind `counts` holds more of than allowed.
        `allowed`: higher limits a steward granted this profile (a merge over the limits)."""
        over = [(self.rank(kind), kind, count, limit) for kind, count in counts.items()
                if (limit := self._raised(kind, allowed)) is not None and count > limit]
        if not over:
            return None
        _, kind, count, limit = min(over)
        return kind, count, limit

    def _raised(self, kind: str, allowed: Mapping[str, int] | None) -> int | None:
        limit = self.limit(kind)
        if limit is None or not allowed or kind not in allowed:
            return limit
        return max(limit, allowed[kind])

    def order(self, a: Identifier, b: Identifier, rule: str, first_seen: datetime,
              score: float | None) -> LinkOrder:
        """Which link is decided first: strong before weak, early before late, so the link
        that yields to a limit is the one through the lowest-priority identifier, seen last.
        Two records that look alike are better evidence than a device two people share, and
        weaker than an account and an email seen together. A steward's merge comes first."""
        if rule == LinkRule.MANUAL:
            return (STEWARD, 0.0, 0.0, to_micros(first_seen), a.key, b.key, rule)
        if rule == LinkRule.PROBABILISTIC:
            # By score alone: when a look-alike record arrived depends on delivery order (a
            # record sent twice keeps its first arrival), what it scores does not.
            return (SCORED, 1.0 - (score or 0.0), 0.0, 0, a.key, b.key, rule)
        when = to_micros(first_seen)
        weaker, stronger = sorted((self.rank(a.kind), self.rank(b.kind)), reverse=True)
        weak = a.kind in WEAK_KINDS or b.kind in WEAK_KINDS
        return (THROUGH_WEAK if weak else STRONG, float(weaker), float(stronger), when,
                a.key, b.key, rule)


@dataclass(frozen=True)
class GraphRules:
    """What may join one profile: the hub limits per node and the limits per profile."""

    hubs: HubRules = field(default_factory=HubRules)
    limits: ProfileLimits = field(default_factory=ProfileLimits)


# The mark of a node a never-link rule binds (one end of a `vetoed` link): after every order
# mark, so no join of its profile is decided on the fast path.
NEVER_MARK = "~"


def order_mark(order: LinkOrder) -> str:
    """The order without its tie-breakers, as text that sorts as the orders do: what a node
    keeps of the latest link a limit holds at it. Equal marks compare as not after."""
    cls, weakness, strength, micros = order[:4]
    return f"{cls}:{weakness:017.12f}:{strength:017.12f}:{micros:020d}"


def held_reason(kind: str, count: int, limit: int, bridge: Identifier) -> str:
    return (f"per-profile limit: joining would make one profile hold {count} {kind} "
            f"identifiers (limit {limit}); the link through {bridge.kind} {bridge.value} "
            f"stays inactive")


NEVER_PREFIX = "never link: "


def never_reason(why: str, bridge: Identifier) -> str:
    return (f"{NEVER_PREFIX}{why}, so the link through {bridge.kind} {bridge.value} stays "
            f"inactive")


def shared_reason(bridge: Identifier, other: Identifier) -> str:
    return (f"shared: {bridge.kind} {bridge.value} is seen with identifiers a per-profile "
            f"limit keeps apart, so it does not say whose {other.kind} {other.value} is")


def held_kind(reason: str | None) -> tuple[str, int] | None:
    """(kind, limit) of a link a per-profile limit holds inactive; None for any other."""
    found = _HELD.match(reason or "")
    return (found.group(2), int(found.group(3))) if found else None
