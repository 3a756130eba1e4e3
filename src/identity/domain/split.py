"""Where to cut a profile a steward splits: the weakest set of links whose removal puts the
identifiers that must end up apart into different parts (docs/architecture.md, "Steward
operations"). Pure: no I/O.

The cut is a minimum cut over link strengths on the profile's own subgraph, so the links that
go are the ones the graph believed least: a probabilistic link before a link seen in an event,
any number of those before one a steward made. Strength comes in tiers so that no quantity of a
weaker kind outweighs one link of a stronger kind.

Two sides: one minimum s-t cut. More sides: each side is cut from all the others together
(isolating cuts) and the union of those cuts is taken; every side then lies in its own part,
and the result is at most twice the cheapest multiway cut (finding that is NP-hard from three
sides on). Nodes and links are handed to networkx in sorted order, so among equally cheap cuts
the same one is chosen whatever order the store read them in (invariant 3).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

import networkx as nx

from identity.domain.links import Link, LinkRule
from identity.domain.types import Identifier

# One tier's largest total stays below the next tier's single link (profiles are bounded far
# below a million links by the per-profile limits).
DETERMINISTIC = 1_000_000.0
STEWARD = DETERMINISTIC * DETERMINISTIC
_SOURCE, _SINK = "source", "sink"

Pair = tuple[Identifier, Identifier]  # (a, b) with a < b, as links are stored


def strength(link: Link) -> float:
    """How much the graph believes a link: a link seen in events by how many, a scored one by
    its probability, a steward's merge above both."""
    if link.evidence.rule == LinkRule.MANUAL:
        return STEWARD
    if link.evidence.rule == LinkRule.SAME_EVENT:
        return DETERMINISTIC + min(link.evidence.event_count, DETERMINISTIC - 1) / DETERMINISTIC
    return link.evidence.score if link.evidence.score is not None else 0.0


@dataclass(frozen=True, slots=True)
class SplitPlan:
    cut: list[Pair]  # the links that go, sorted
    parts: list[list[Identifier]]  # the profile afterwards: each part sorted, by first member


def plan_split(members: Iterable[Identifier], links: Iterable[Link],
               sides: Sequence[Collection[Identifier]]) -> SplitPlan:
    """The cheapest cut (see the module) that leaves each of `sides` in a part of its own.
    `links`: the profile's active links; links leaving the profile are ignored."""
    nodes = sorted(set(members))
    inside = set(nodes)
    _check_sides(inside, sides)
    graph = nx.Graph()
    graph.add_nodes_from(nodes)
    for link in sorted((k for k in links if k.a in inside and k.b in inside),
                       key=lambda k: (k.a, k.b)):
        weight = strength(link)
        if graph.has_edge(link.a, link.b):  # two rules over one pair: their strengths add
            weight += graph[link.a][link.b]["capacity"]
        graph.add_edge(link.a, link.b, capacity=weight)
    cut: set[Pair] = set()
    targets = sides if len(sides) > 2 else sides[:1]
    for index, side in enumerate(targets):
        others = [node for k, other in enumerate(sides) if k != index for node in other]
        cut |= _isolating_cut(graph, side, others)
    graph.remove_edges_from(cut)
    parts = sorted((sorted(part) for part in nx.connected_components(graph)),
                   key=lambda part: part[0])
    return SplitPlan(sorted(cut), parts)


def _check_sides(inside: set[Identifier], sides: Sequence[Collection[Identifier]]) -> None:
    if len(sides) < 2:
        raise ValueError("a split needs at least two groups of identifiers to keep apart")
    seen: set[Identifier] = set()
    for index, side in enumerate(sides):
        if not side:
            raise ValueError(f"group {index + 1} of the split is empty")
        for node in sorted(side):
            if node not in inside:
                raise ValueError(f"{node.kind} {node.value!r} (group {index + 1}) is not a "
                                 "member of the profile")
            if node in seen:
                raise ValueError(f"{node.kind} {node.value!r} is in more than one group")
            seen.add(node)


def _isolating_cut(graph: nx.Graph, side: Collection[Identifier],
                   others: Collection[Identifier]) -> set[Pair]:
    """The links of a minimum cut between `side` and `others` (a super source and sink tie
    each group together with links no cut can take)."""
    flow = nx.DiGraph()
    for a, b, data in graph.edges(data=True):
        flow.add_edge(a, b, capacity=data["capacity"])
        flow.add_edge(b, a, capacity=data["capacity"])
    for node in sorted(side):
        flow.add_edge(_SOURCE, node)  # no capacity: unbounded
    for node in sorted(others):
        flow.add_edge(node, _SINK)
    _, (reachable, _) = nx.minimum_cut(flow, _SOURCE, _SINK)
    return {(min(a, b), max(a, b)) for a, b in graph.edges()
            if (a in reachable) != (b in reachable)}
