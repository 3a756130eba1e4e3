"""Which links join, and which a per-profile limit holds apart (docs/architecture.md,
invariant 7). Pure: no I/O.

Links are taken in their order (ProfileLimits.order: strong links seen in an event, then
scored ones, then links through weak identifiers; early before late); each joins its two parts
unless the joined part would hold more identifiers of some kind than allowed, and then it is
held, inactive, with the reason. A weak identifier held apart from a strong one that way (a
family tablet seen with two members' accounts) is a bridge between people: from then on it
vouches for no one, and its later links through weak identifiers are held too (a session seen
on that tablet alone belongs to no one we know).

Two identifiers whose records a never-link rule says are two people (twins, members of one
household: a `vetoed` link between them), or that a steward split apart (a `never_link`), are
never put in one part either: the link that would join them is held instead, whatever path it
closes. A steward's merge over the limits carries the counts it was allowed: the part it joins
may hold that many of each kind, and no more.

The result is a function of the set of links and their orders alone, so it is the same
whatever order events arrive in (invariant 3). The service runs it over one region of the
graph at a time: the profiles a change can reach (service/settle.py says which).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from identity.domain.guards import (
    THROUGH_WEAK,
    WEAK_KINDS,
    LinkOrder,
    ProfileLimits,
    held_reason,
    never_reason,
    shared_reason,
)
from identity.domain.types import Identifier

LinkKey = tuple[Identifier, Identifier, str]  # (a, b, rule): a < b, as links are stored


@dataclass(frozen=True, slots=True)
class Candidate:
    """A link that joins unless a limit holds it."""

    a: Identifier
    b: Identifier
    rule: str
    order: LinkOrder
    allowed: tuple[tuple[str, int], ...] = ()  # raised limits a steward granted (kind, count)

    @property
    def key(self) -> LinkKey:
        return (self.a, self.b, self.rule)


@dataclass(frozen=True)
class Partition:
    parts: list[list[Identifier]]  # each sorted; ordered by their smallest member
    held: dict[LinkKey, str]  # links a limit holds inactive -> the reason
    joined: list[LinkKey]  # the links that joined two parts, in order: how profiles were built


def partition(nodes: Iterable[Identifier], links: Iterable[Candidate],
              limits: ProfileLimits, held_before: Iterable[Candidate] = (),
              apart: Iterable[tuple[Identifier, Identifier, str]] = (),
              kept_apart: Iterable[tuple[Identifier, Identifier, str]] = ()) -> Partition:
    """Union by size over the links in order; each part keeps its count of each kind, so a
    check costs the kinds of the smaller part. `held_before`: links leaving the nodes whose
    hold is settled already; they join nothing, but make their weak end a bridge from their
    place in the order on. `apart`: (a, b, why) pairs never in one part. `kept_apart`: the
    same, as a steward decided it: a link they hold makes no bridge, since the steward said
    on which side its weak end belongs."""
    parent: dict[Identifier, Identifier] = {}
    kinds: dict[Identifier, Counter[str]] = {}
    size: dict[Identifier, int] = {}
    partners: dict[Identifier, dict[Identifier, str]] = defaultdict(dict)  # root -> never with
    allowed: dict[Identifier, dict[str, int]] = {}  # root -> limits a steward raised for it

    def add(node: Identifier) -> None:
        if node not in parent:
            parent[node], kinds[node], size[node] = node, Counter({node.kind: 1}), 1

    def forbid(group: Identifier, other: Identifier, why: str) -> None:
        """One reason per pair, the least: the words a held link names never depend on the
        order the pairs came in (the reason is stored and shown; invariant 3)."""
        known = partners[group].get(other)
        if known is None or why < known:
            partners[group][other] = why

    kept = list(kept_apart)
    quiet = {why for _, _, why in kept}  # the reasons of a steward's pairs
    for a, b, why in (*apart, *kept):
        add(a)
        add(b)
        forbid(a, b, why)
        forbid(b, a, why)

    def root(node: Identifier) -> Identifier:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for node in nodes:
        add(node)
    held: dict[LinkKey, str] = {}
    joined: list[LinkKey] = []
    bridges: set[Identifier] = set()
    fixed = {link.key for link in held_before}

    def hold(link: Candidate, reason: str | None, bridging: bool = True) -> None:
        if reason is not None:
            held[link.key] = reason
        for end, other in ((link.a, link.b), (link.b, link.a)):
            if not bridging:
                break
            if end.kind in WEAK_KINDS and other.kind not in WEAK_KINDS:
                bridges.add(end)

    for link in sorted((*links, *held_before), key=lambda c: c.order):
        if link.key in fixed:
            hold(link, None)
            continue
        add(link.a)
        add(link.b)
        bridge = next((end for end in (link.a, link.b) if end in bridges), None)
        if bridge is not None and link.order[0] == THROUGH_WEAK:
            hold(link, shared_reason(bridge, link.b if bridge == link.a else link.a))
            continue
        ra, rb = root(link.a), root(link.b)
        if ra == rb:
            continue
        small, large = (ra, rb) if size[ra] <= size[rb] else (rb, ra)
        weaker = max((link.a, link.b), key=lambda n: (limits.rank(n.kind), n))
        never = min((why for x, why in partners[small].items() if root(x) == large),
                    default=None)
        if never is not None:
            hold(link, never_reason(never, weaker), bridging=never not in quiet)
            continue
        together = {kind: kinds[large][kind] + n for kind, n in kinds[small].items()}
        raised = _raised(allowed.get(small), allowed.get(large), link.allowed)
        broken = limits.broken(together, raised)
        if broken is not None:
            kind, count, limit = broken
            hold(link, held_reason(kind, count, limit, weaker))
            continue
        parent[small] = large
        size[large] += size[small]
        kinds[large].update(kinds.pop(small))
        allowed.pop(small, None)
        if raised:
            allowed[large] = raised
        for other, why in partners.pop(small, {}).items():
            forbid(large, other, why)
        joined.append(link.key)
    parts: dict[Identifier, list[Identifier]] = {}
    for node in parent:
        parts.setdefault(root(node), []).append(node)
    return Partition(sorted((sorted(p) for p in parts.values()), key=lambda p: p[0]), held,
                     joined)


def _raised(*grants: Iterable[tuple[str, int]] | dict[str, int] | None) -> dict[str, int]:
    """The highest count granted for each kind, over the parts joined and the link."""
    raised: dict[str, int] = {}
    for grant in grants:
        pairs = grant.items() if isinstance(grant, dict) else grant or ()
        for kind, count in pairs:
            raised[kind] = max(count, raised.get(kind, 0))
    return raised
