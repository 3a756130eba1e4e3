"""The audit of clear reads of personal data (service/pii_audit.py): off the request path,
bounded, one append per flush, nothing lost when the store fails for a while."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime

import pytest
from prometheus_client import REGISTRY

from identity.domain.types import ProfileId
from identity.service.pii_audit import READ_PII, PiiReadAudit
from identity.store.protocol import AuditFilter
from identity.store.sqlite import SqliteGraphStore

NOW = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def dropped() -> float:
    return REGISTRY.get_sample_value("identity_pii_audit_dropped_total") or 0.0


async def entries(store: SqliteGraphStore) -> list[dict[str, object]]:
    async with store.transaction(read_only=True) as tx:
        found = await tx.audit.page_entries(AuditFilter(action=READ_PII), None, 100)
    return [{"actor": e.actor, "profiles": e.profile_ids, **json.loads(e.after)}
            for e in found]


async def test_reads_are_written_by_one_flush_and_at_close() -> None:
    store = SqliteGraphStore(":memory:")
    audit = PiiReadAudit(store, lambda: NOW, flush_at=3, flush_every_s=60)
    audit.start()
    audit.record("key:a", [ProfileId("prf_2"), ProfileId("prf_1")], ["email", "city"])
    audit.record("key:b", [ProfileId("prf_1")], ["first_name"])
    await asyncio.sleep(0.05)
    assert audit.waiting == 2 and await entries(store) == []  # below flush_at, within a minute
    audit.record("development", [ProfileId("prf_3")], ["phone"])
    for _ in range(100):  # flush_at reached: the task writes them now
        if audit.waiting == 0:
            break
        await asyncio.sleep(0.01)
    assert len(await entries(store)) == 3
    audit.record("key:a", [ProfileId("prf_4")], ["last_name"])
    await audit.close()  # shutdown writes what is left
    assert {(e["actor"], e["profiles"], tuple(e["fields"])) for e in  # type: ignore[arg-type]
            await entries(store)} == {
        ("key:a", ("prf_1", "prf_2"), ("city", "email")), ("key:b", ("prf_1",), ("first_name",)),
        ("development", ("prf_3",), ("phone",)), ("key:a", ("prf_4",), ("last_name",))}
    await store.close()


async def test_a_full_buffer_drops_says_so_once_and_never_blocks(
        caplog: pytest.LogCaptureFixture) -> None:
    store = SqliteGraphStore(":memory:")
    audit = PiiReadAudit(store, lambda: NOW, capacity=2, flush_at=100)
    before = dropped()
    with caplog.at_level(logging.WARNING, logger="identity.audit"):
        for n in range(5):
            audit.record("key:a", [ProfileId(f"prf_{n}")], ["email"])
    assert audit.waiting == 2 and dropped() - before == 3
    assert [r.getMessage() for r in caplog.records] == [
        "PII read audit buffer full (2 entries): reads of personal data go unaudited until "
        "the store takes the backlog"]
    assert await audit.flush() == 2
    await store.close()


async def test_a_flush_the_store_refuses_keeps_its_entries_for_the_next() -> None:
    store = SqliteGraphStore(":memory:")
    audit = PiiReadAudit(store, lambda: NOW)
    audit.record("key:a", [ProfileId("prf_1")], ["email"])
    await store.close()  # the store away
    assert await audit.flush() == 0 and audit.waiting == 1
    again = SqliteGraphStore(":memory:")
    audit._store = again  # the store back
    assert await audit.flush() == 1
    await again.close()


async def test_reads_of_the_same_profiles_by_the_same_caller_are_one_entry_per_flush() -> None:
    store = SqliteGraphStore(":memory:")
    times = iter([NOW.replace(second=s) for s in range(10)])
    audit = PiiReadAudit(store, lambda: next(times), flush_every_s=60)
    for fields in (["email"], ["phone"], ["email"]):
        audit.record("key:a", [ProfileId("prf_1")], fields)
    audit.record("key:b", [ProfileId("prf_1")], ["city"])  # another caller: its own entry
    assert audit.waiting == 2
    assert await audit.flush() == 2
    found = {e["actor"]: e for e in await entries(store)}
    assert found["key:a"]["fields"] == ["email", "phone"] and found["key:a"]["reads"] == 3
    assert found["key:a"]["last_at"] == NOW.replace(second=2).isoformat()
    assert found["key:b"]["reads"] == 1
    audit.record("key:a", [ProfileId("prf_1")], ["email"])  # after the flush: a new entry
    assert await audit.flush() == 1
    await store.close()
