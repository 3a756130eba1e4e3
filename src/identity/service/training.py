"""The match records `identity train` fits the model on, and whether the fit is better than the
model in force.

Fitting is the batch pipeline's (`resolve_records`): the prior from the model's prior rules,
u from random pairs, m by EM on the blocked pairs, and the term frequencies of the records it
saw. EM has no labels, so a fit can be worse than what it replaces (one that learns that a
shared name and city make one person joins namesakes). Before a fitted model is saved, both
are scored on the graph's own evidence: two records whose identifiers events already join
through strong identifiers (an account, an email, a phone, an external id) are one person;
two whose strong identifiers hold different customer ids are two people. Neither kind of
pair needs a model to be known, and each model is judged on the pairs it would link.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from identity.domain.guards import WEAK_KINDS
from identity.domain.links import LinkRule
from identity.domain.matching.engine import LinkedPair, candidate_pairs, scored_pairs
from identity.domain.matching.model import FieldValues, MatchModel
from identity.domain.matching.records import MatchRecord
from identity.domain.resolution import components
from identity.domain.types import Identifier, IdentifierKind
from identity.store.protocol import GraphStore, GraphTransaction

PAGE = 5_000
Pair = tuple[str, str]

# A fitted model replaces the one in force unless it is less precise by more than this, or
# recalls less by more than RECALL_SLACK.
PRECISION_SLACK = 0.001
RECALL_SLACK = 0.005


async def records_in_store(store: GraphStore) -> list[MatchRecord]:
    """Every match record, read page by page in id order."""
    found: list[MatchRecord] = []
    after = ""
    while True:
        async with store.transaction(read_only=True) as tx:
            page = await tx.matches.scan_records(after, PAGE)
        found += page
        if len(page) < PAGE:
            return found
        after = page[-1].record_id


def values_of(records: Iterable[MatchRecord]) -> dict[str, FieldValues]:
    return {record.record_id: record.values for record in records}


@dataclass(frozen=True)
class Evidence:
    """Candidate pairs of records the graph already says are one person, or two."""

    same: frozenset[Pair]
    apart: frozenset[Pair]


@dataclass(frozen=True)
class Estimate:
    """How a model does on the evidence: of the labelled pairs it links, the share that are
    one person (precision); of the pairs that are one person, the share it links (recall)."""

    precision: float
    recall: float
    linked_same: int
    linked_apart: int
    same: int

    def no_worse_than(self, other: Estimate) -> bool:
        """As precise and recalling as much, within the slacks: a model that links nothing
        is precise and still no replacement."""
        return (self.precision >= other.precision - PRECISION_SLACK
                and self.recall >= other.recall - RECALL_SLACK)


async def strong_parts(tx: GraphTransaction, anchors: Iterable[Identifier]
                       ) -> dict[Identifier, tuple[Identifier, frozenset[Identifier]]]:
    """For each anchor a strong identifier: (its part, the part's customer ids), the part
    being what active links seen in events join it to through strong identifiers alone."""
    nodes = {a for a in anchors if a.kind not in WEAK_KINDS}
    edges: list[tuple[Identifier, Identifier]] = []
    frontier = sorted(nodes)
    while frontier:
        reached: set[Identifier] = set()
        for start in range(0, len(frontier), PAGE):
            for link in await tx.graph.read_links(frontier[start:start + PAGE]):
                if (link.is_active and link.evidence.rule == LinkRule.SAME_EVENT
                        and link.a.kind not in WEAK_KINDS and link.b.kind not in WEAK_KINDS):
                    edges.append((link.a, link.b))
                    reached.update((link.a, link.b))
        frontier = sorted(reached - nodes)
        nodes |= reached
    found: dict[Identifier, tuple[Identifier, frozenset[Identifier]]] = {}
    for part in components(nodes, edges):
        accounts = frozenset(n for n in part if n.kind == IdentifierKind.CUSTOMER_ID)
        found.update((node, (part[0], accounts)) for node in part)
    return found


async def evidence_in_store(store: GraphStore, records: Sequence[MatchRecord],
                            model: MatchModel) -> Evidence:
    """Labels for the candidate pairs (those sharing a blocking key of `model`)."""
    async with store.transaction(read_only=True) as tx:
        parts = await strong_parts(tx, {r.anchor for r in records})
    anchor = {r.record_id: r.anchor for r in records}
    same: set[Pair] = set()
    apart: set[Pair] = set()
    for left, right in candidate_pairs(values_of(records), model).pairs:
        a, b = anchor[left], anchor[right]
        if a == b or a not in parts or b not in parts:
            continue
        (part_a, accounts_a), (part_b, accounts_b) = parts[a], parts[b]
        if part_a == part_b:
            same.add((left, right))
        elif accounts_a and accounts_b and accounts_a.isdisjoint(accounts_b):
            apart.add((left, right))
    return Evidence(frozenset(same), frozenset(apart))


def estimate(records: Mapping[str, FieldValues], model: MatchModel, evidence: Evidence) -> Estimate:
    return _estimate(scored_pairs(records, model), model.link_threshold, evidence)


def _estimate(scored: Sequence[LinkedPair], threshold: float, evidence: Evidence) -> Estimate:
    linked = {(p.left, p.right) for p in scored if p.probability >= threshold}
    linked_same = len(linked & evidence.same)
    linked_apart = len(linked & evidence.apart)
    labelled = linked_same + linked_apart
    return Estimate(linked_same / labelled if labelled else 1.0,
                    linked_same / len(evidence.same) if evidence.same else 1.0,
                    linked_same, linked_apart, len(evidence.same))


def calibrated(scored: Sequence[LinkedPair], fitted: MatchModel, evidence: Evidence,
               precision: float) -> MatchModel:
    """The fitted model with its link threshold raised, where it needs to be, to the lowest
    one at which its estimated precision on the evidence reaches `precision` (the model in
    force's): EM fits how alike records look, the graph's evidence says where to draw the
    line. `scored`: the fitted model's scored pairs. Unchanged when precise enough already."""
    found: dict[float, list[bool]] = {}
    for pair in scored:
        if pair.probability >= fitted.link_threshold:
            key = (pair.left, pair.right)
            if key in evidence.same or key in evidence.apart:
                found.setdefault(pair.probability, []).append(key in evidence.same)
    same = linked = 0
    lowest: float | None = None  # the lowest cut that is precise enough
    for probability in sorted(found, reverse=True):
        same += sum(found[probability])
        linked += len(found[probability])
        if same / linked >= precision:
            lowest = probability
    if not found or (lowest is not None and lowest == min(found)):
        return fitted
    # Nothing precise enough: link only above every labelled pair the model scores.
    threshold = lowest if lowest is not None else min(1.0 - 1e-12, max(found) * (1 + 1e-12))
    return replace(fitted, link_threshold=threshold,
                   review_threshold=min(fitted.review_threshold, threshold))


@dataclass(frozen=True)
class Judgement:
    """The fitted model (calibrated) and the one in force, each estimated on the store's
    evidence at the store's size (the prior follows it)."""

    records: int
    evidence: Evidence
    model: MatchModel  # the fitted model as calibrated: what to save
    fitted: Estimate
    in_force: Estimate

    @property
    def has_evidence(self) -> bool:
        return bool(self.evidence.same or self.evidence.apart)

    @property
    def replaces(self) -> bool:
        """Whether the fitted model may replace the one in force without the caller's say."""
        return not self.has_evidence or self.fitted.no_worse_than(self.in_force)


async def judge(store: GraphStore, fitted: MatchModel, in_force: MatchModel,
                records: Sequence[MatchRecord] | None = None) -> Judgement:
    """Estimates both models on the store's evidence, the fitted one calibrated first (its
    threshold raised where it is less precise than the model in force); `records`: the
    store's match records, when the caller has read them already."""
    found = list(records) if records is not None else await records_in_store(store)
    values = values_of(found)
    evidence = await evidence_in_store(store, found, fitted)
    size = len(found)
    current = estimate(values, in_force.at_size(size), evidence)
    scored = scored_pairs(values, fitted.at_size(size))  # once: calibrating moves a cut only
    model = calibrated(scored, fitted.at_size(size), evidence, current.precision)
    if model.link_threshold != fitted.link_threshold:
        fitted = replace(fitted, link_threshold=model.link_threshold,
                         review_threshold=model.review_threshold)
    return Judgement(size, evidence, fitted, _estimate(scored, model.link_threshold, evidence),
                     current)
