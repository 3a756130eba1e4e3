"""The consent role (tx.consents) of the store contract, on every adapter: the latest decision
per (identifier, purpose) is kept, by (time, event id), whatever order and however often the
decisions are recorded; they come back whole, by identifier, and erasure removes them."""

from __future__ import annotations

import itertools
from datetime import timedelta

from identity.domain.consent import ConsentDecision, Purpose
from identity.domain.types import Identifier
from identity.store import GraphStore
from identity.store.protocol import ConsentRow
from tests.contract.values import ANN, BOB, COOKIE, T1, T2


def row(anchor: Identifier, purpose: Purpose, granted: bool, at_minute: int, event_id: str,
        source: str = "web") -> ConsentRow:
    return ConsentRow(anchor, ConsentDecision(purpose, granted, source,
                                              T1 + timedelta(minutes=at_minute), event_id))


async def record(store: GraphStore, *rows: ConsentRow) -> None:
    async with store.transaction() as tx:
        await tx.consents.record_consents(rows)


async def read(store: GraphStore, *anchors: Identifier) -> list[ConsentRow]:
    async with store.transaction(read_only=True) as tx:
        return await tx.consents.read_consents(anchors)


async def test_decisions_come_back_whole_by_anchor_then_purpose(store: GraphStore) -> None:
    exact = ConsentRow(ANN, ConsentDecision(Purpose.SALE_SHARING, False, "crm", T2, "e-9"))
    rows = [row(BOB, Purpose.MARKETING, True, 1, "e1"), exact,
            row(ANN, Purpose.ANALYTICS, True, 2, "e2"), row(COOKIE, Purpose.MARKETING, True, 0,
                                                            "e0")]
    await record(store, *rows)
    found = await read(store, ANN, BOB, Identifier("email", "nobody@northwind.org"))
    assert found == [row(BOB, Purpose.MARKETING, True, 1, "e1"),  # customer_id < email
                     row(ANN, Purpose.ANALYTICS, True, 2, "e2"), exact]
    assert found[2].decision.at == T2  # microseconds kept


async def test_the_latest_decision_wins_in_any_order(store: GraphStore) -> None:
    """By time, then event id (e-b after e-a at one instant); an earlier one never replaces."""
    decisions = [row(ANN, Purpose.MARKETING, True, 1, "e-a"),
                 row(ANN, Purpose.MARKETING, False, 5, "e-a"),
                 row(ANN, Purpose.MARKETING, True, 5, "e-b"),
                 row(ANN, Purpose.MARKETING, False, 3, "e-z")]
    for n, order in enumerate(itertools.permutations(decisions)):
        anchor = Identifier("email", f"p{n}@northwind.org")
        for one in order:  # one transaction each, as events arriving one by one
            await record(store, ConsentRow(anchor, one.decision))
        assert [r.decision for r in await read(store, anchor)] == [decisions[2].decision], order


async def test_a_later_decision_in_one_call_wins_too(store: GraphStore) -> None:
    await record(store, row(ANN, Purpose.ANALYTICS, True, 9, "e2"),
                 row(ANN, Purpose.ANALYTICS, False, 1, "e1"))
    assert [r.decision.event_id for r in await read(store, ANN)] == ["e2"]


async def test_two_later_decisions_in_one_call_over_a_kept_one_keep_the_latest(
        store: GraphStore) -> None:
    """Neo4j reads every row's node before setting any: the call's latest must win still."""
    for n, (first, second) in enumerate([("e3", "e2"), ("e2", "e3")]):
        anchor = Identifier("email", f"q{n}@northwind.org")
        await record(store, row(anchor, Purpose.MARKETING, True, 1, "e1"))
        await record(store, row(anchor, Purpose.MARKETING, False, 5, first),
                     row(anchor, Purpose.MARKETING, False, 5, second))
        assert [r.decision.event_id for r in await read(store, anchor)] == ["e3"]


async def test_recording_the_same_decision_twice_changes_nothing(store: GraphStore) -> None:
    once = row(BOB, Purpose.PERSONALIZATION, True, 4, "e4", source="app")
    await record(store, once)
    await record(store, once)
    assert await read(store, BOB) == [once]


async def test_on_a_full_tie_the_withdrawal_wins(store: GraphStore) -> None:
    """The same event id and time for one purpose twice with two answers: never granted."""
    await record(store, row(BOB, Purpose.MARKETING, False, 4, "e4"))
    await record(store, row(BOB, Purpose.MARKETING, True, 4, "e4"))
    await record(store, row(ANN, Purpose.MARKETING, True, 4, "e4"))
    await record(store, row(ANN, Purpose.MARKETING, False, 4, "e4"))
    assert [r.decision.granted for r in await read(store, ANN, BOB)] == [False, False]


async def test_erasure_removes_every_decision_of_the_identifiers(store: GraphStore) -> None:
    await record(store, row(ANN, Purpose.MARKETING, True, 1, "e1"),
                 row(ANN, Purpose.ANALYTICS, False, 1, "e1"),
                 row(BOB, Purpose.MARKETING, True, 1, "e2"))
    async with store.transaction() as tx:
        assert await tx.consents.erase_consents([ANN, COOKIE]) == 2
    assert await read(store, ANN, BOB) == [row(BOB, Purpose.MARKETING, True, 1, "e2")]
    async with store.transaction() as tx:
        assert await tx.consents.erase_consents([ANN]) == 0


async def test_a_rolled_back_transaction_keeps_no_decision(store: GraphStore) -> None:
    try:
        async with store.transaction() as tx:
            await tx.consents.record_consents([row(ANN, Purpose.MARKETING, True, 1, "e1")])
            raise LookupError("abort")
    except LookupError:
        pass
    assert await read(store, ANN) == []


async def test_many_anchors_are_read_at_once_each_once(store: GraphStore) -> None:
    """More anchors than one statement binds (SQLite reads them in chunks), some named twice
    and some without a decision: every decision comes back once, by anchor then purpose."""
    anchors = [Identifier("anonymous_id", f"c-{n:04d}") for n in range(700)]
    rows = [row(a, purpose, n % 2 == 0, n % 7, f"e{n}")
            for n, a in enumerate(anchors) if n % 3
            for purpose in (Purpose.ANALYTICS, Purpose.MARKETING)]
    await record(store, *rows)
    assert await read(store, *anchors, *anchors[:50]) == rows
