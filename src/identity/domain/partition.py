"""Which links join, and which a per-profile limit holds apart (docs/architecture.md,
invariant 7). Pure: no I/O.

Links are taken in their order (ProfileLimits.order: seen in an event before scored, strong
before weak, early before late); each joins its two parts unless the joined part would hold
more identifiers of some kind than allowed, and then it is held, inactive, with the reason. The
result is a function of the set of links and their orders alone, so it is the same whatever
order events arrive in (invariant 3). The service runs it over one region of the graph at a
time: the profiles a change can reach (service/settle.py says which).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from identity.domain.guards import LinkOrder, ProfileLimits, held_reason
from identity.domain.types import Identifier

LinkKey = tuple[Identifier, Identifier, str]  # (a, b, rule): a < b, as links are stored


@dataclass(frozen=True, slots=True)
class Candidate:
    """A link that joins unless a limit holds it."""

    a: Identifier
    b: Identifier
    rule: str
    order: LinkOrder

    @property
    def key(self) -> LinkKey:
        return (self.a, self.b, self.rule)


@dataclass(frozen=True)
class Partition:
    parts: list[list[Identifier]]  # each sorted; ordered by their smallest member
    held: dict[LinkKey, str]  # links a limit holds inactive -> the reason
    joined: list[LinkKey]  # the links that joined two parts, in order: how profiles were built


def partition(nodes: Iterable[Identifier], links: Iterable[Candidate],
              limits: ProfileLimits) -> Partition:
    """Union by size over the links in order; each part keeps its count of each kind, so a
    check costs the kinds of the smaller part."""
    parent: dict[Identifier, Identifier] = {}
    kinds: dict[Identifier, Counter[str]] = {}
    size: dict[Identifier, int] = {}

    def add(node: Identifier) -> None:
        if node not in parent:
            parent[node], kinds[node], size[node] = node, Counter({node.kind: 1}), 1

    def root(node: Identifier) -> Identifier:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for node in nodes:
        add(node)
    held: dict[LinkKey, str] = {}
    joined: list[LinkKey] = []
    for link in sorted(links, key=lambda c: c.order):
        add(link.a)
        add(link.b)
        ra, rb = root(link.a), root(link.b)
        if ra == rb:
            continue
        small, large = (ra, rb) if size[ra] <= size[rb] else (rb, ra)
        together = {kind: kinds[large][kind] + n for kind, n in kinds[small].items()}
        broken = limits.broken(together)
        if broken is not None:
            kind, count, limit = broken
            bridge = max((link.a, link.b), key=lambda n: (limits.rank(n.kind), n))
            held[link.key] = held_reason(kind, count, limit, bridge)
            continue
        parent[small] = large
        size[large] += size[small]
        kinds[large].update(kinds.pop(small))
        joined.append(link.key)
    parts: dict[Identifier, list[Identifier]] = {}
    for node in parent:
        parts.setdefault(root(node), []).append(node)
    return Partition(sorted((sorted(p) for p in parts.values()), key=lambda p: p[0]), held,
                     joined)
