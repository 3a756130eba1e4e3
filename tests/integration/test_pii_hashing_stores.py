"""Emails and phones kept only as keyed hashes, on both stores (docs/architecture.md,
"Security and privacy"): no clear value anywhere in the store, deterministic linking and every
lookup on the hashes, another key finds nothing, and a rotation as documented."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from identity.domain.identifiers import NormalizationRules
from identity.domain.matching.defaults import DEFAULT_MODEL
from identity.domain.pii_hashing import parse_keys
from identity.domain.types import Identifier
from identity.service import IdentityService, IngestStatus
from identity.service.matching import Matcher
from identity.service.search import SearchBy
from identity.store.neo4j import Neo4jGraphStore
from identity.store.protocol import GraphStore
from identity.store.sqlite import SqliteGraphStore
from tests.neo4j_fixtures import Neo4jAccess, empty_neo4j_store

OLD_KEY = "1:" + "o" * 16 + "ld-key-for-tests-0123456789"
NEW_KEY = "2:" + "n" * 16 + "ew-key-for-tests-0123456789"
OTHER_KEY = "7:" + "x" * 16 + "another-key-never-used-here"

# Every spelling of the personal data the events carry, as a scan looks for it.
CLEAR = ("ann.lee", "annlee", "northwind", "4155550100", "415 555", "555-0100", "555 0100",
         "7700900123", "7700 900", "ann.work", "fabrikam")


def service_on(store: GraphStore, *keys: str) -> IdentityService:
    rules = NormalizationRules(pii_keys=parse_keys(",".join(keys), "test keys")
                               if keys else None)
    return IdentityService(store, rules=rules, matcher=Matcher(DEFAULT_MODEL), profile_cache=0)


def event(event_id: str, *identifiers: tuple[str, str], **traits: str) -> dict[str, object]:
    return {"event_id": event_id, "type": "identify", "timestamp": "2025-03-01T09:00:00Z",
            "source": "web", "identifiers": [{"kind": k, "value": v} for k, v in identifiers],
            "traits": traits}


EVENTS = [
    event("e1", ("email", "Ann.Lee@Northwind.org"), ("anonymous_id", "c-1"),
          first_name="Ann", last_name="Lee", postcode="94107",
          work_email="ann.work@fabrikam.com"),
    event("e2", ("email", "ann.lee@northwind.org "), ("phone", "(415) 555-0100"),
          ("anonymous_id", "c-2"), first_name="Ann", last_name="Lee"),
    event("e3", ("phone", "+1 415 555 0100 ext. 12"), ("anonymous_id", "c-3"),
          mobile="+44 7700 900123", first_name="Ann", last_name="Lee", postcode="94107"),
]


@pytest.fixture(params=["sqlite", pytest.param("neo4j", marks=pytest.mark.neo4j)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[GraphStore]:
    if request.param == "neo4j":
        access: Neo4jAccess = request.getfixturevalue("neo4j_access")
        async with empty_neo4j_store(access) as neo4j_store:
            yield neo4j_store
        return
    sqlite_store = SqliteGraphStore(str(tmp_path / "graph.db"))
    yield sqlite_store
    await sqlite_store.close()


def _sqlite_texts(path: str) -> Iterator[str]:
    """Every value of every row of every table (views too, so nothing is missed)."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        tables = [row[0] for row in db.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")]
        for table in tables:
            for row in db.execute(f'SELECT * FROM "{table}"'):  # names from the schema
                yield from (value if isinstance(value, str) else
                            value.decode("utf-8", "replace") if isinstance(value, bytes)
                            else repr(value) for value in row)


async def _neo4j_texts(store: Neo4jGraphStore) -> list[str]:
    """Every property of every node and relationship, labels and types too."""
    texts: list[str] = []
    async with store._driver.session(database=store._database) as session:
        for query in ("MATCH (n) RETURN labels(n) AS names, properties(n) AS props",
                      "MATCH ()-[r]->() RETURN [type(r)] AS names, properties(r) AS props"):
            result = await session.run(query)
            async for record in result:
                texts += [str(name) for name in record["names"]]
                texts += [f"{key}={value!r}" for key, value in record["props"].items()]
    return texts


async def stored_texts(store: GraphStore) -> list[str]:
    if isinstance(store, Neo4jGraphStore):
        return await _neo4j_texts(store)
    assert isinstance(store, SqliteGraphStore)
    return list(_sqlite_texts(store._path))


async def clear_values_in(store: GraphStore) -> list[str]:
    texts = await stored_texts(store)
    assert len(texts) > 50  # the scan read the store, not nothing
    return [text for text in texts for clear in CLEAR if clear in text.lower()]


async def profile_of(service: IdentityService, kind: str, value: str) -> str | None:
    (view,) = await service.profiles_by_identifier([service.normalize(kind, value)])
    return None if view is None else view.profile_id


async def test_no_clear_email_or_phone_anywhere_and_links_and_lookups_work(
        store: GraphStore) -> None:
    service = service_on(store, OLD_KEY)
    results = await service.ingest(EVENTS)
    assert [r.status for r in results] == [IngestStatus.ACCEPTED] * 3
    assert [w.field for w in results[0].warnings] == ["traits.work_email"]
    # e1 and e2 share the email (written two ways): their hashes are equal.
    assert results[0].profile_id == results[1].profile_id
    assert await clear_values_in(store) == []
    # The scan would have seen them: the same events without hashing leave them in clear.
    person = results[0].profile_id
    assert person is not None
    assert await profile_of(service, "email", "ANN.LEE@northwind.org") == person
    assert await profile_of(service, "phone", "+1 (415) 555-0100") == person
    assert (await service.identifier(service.normalize("email", "ann.lee@northwind.org"))
            is not None)
    resolution = await service.resolve([("email", "ann.lee@northwind.org")], False, "web")
    assert resolution.profile_id == person
    found = await service.search("ann.lee@northwind.org", SearchBy.EMAIL)
    assert [hit.profile_id for hit in found.hits] == [person]
    explained = await service.explain(service.normalize("email", "ann.lee@northwind.org"),
                                      service.normalize("phone", "4155550100"))
    assert explained.profile_a == explained.profile_b == person and explained.path
    view = (await service.profiles([person]))[0]
    assert view is not None
    shown = repr(view)
    assert all(clear not in shown.lower() for clear in CLEAR)
    assert all(m.identifier.value.startswith("h1:") for m in view.identifiers
               if m.identifier.kind in ("email", "phone"))


async def test_the_scan_finds_clear_values_when_hashing_is_off(store: GraphStore) -> None:
    """Without a key nothing changes: values are stored normalized, in clear (and so the
    scan above can fail)."""
    service = service_on(store)
    results = await service.ingest(EVENTS)
    assert results[0].profile_id == results[1].profile_id and not results[0].warnings
    found = await clear_values_in(store)
    assert any("ann.lee@northwind.org" in text for text in found)
    assert any("+14155550100" in text for text in found)
    assert service.normalize("email", "Ann.Lee@northwind.org") == Identifier(
        "email", "ann.lee@northwind.org")


async def test_another_key_finds_nothing(store: GraphStore) -> None:
    (first, *_) = await service_on(store, OLD_KEY).ingest(EVENTS)
    assert first.profile_id is not None
    other = service_on(store, OTHER_KEY)
    assert await profile_of(other, "email", "ann.lee@northwind.org") is None
    assert await profile_of(other, "phone", "4155550100") is None
    assert (await other.resolve([("email", "ann.lee@northwind.org")], False, "web")
            ).profile_id is None


async def test_rotation_as_documented(store: GraphStore) -> None:
    """Add the new key first: old hashes still match (lookups use the oldest key, linking
    every key), a value seen again is linked under both; once the old key is retired, what
    was seen again is found under the new one, what was not is no longer found by value."""
    (first, *_) = await service_on(store, OLD_KEY).ingest(EVENTS[:2])
    person = first.profile_id
    assert person is not None
    rotating = service_on(store, NEW_KEY, OLD_KEY)
    assert await profile_of(rotating, "email", "ann.lee@northwind.org") == person
    assert await profile_of(rotating, "phone", "4155550100") == person
    (again,) = await rotating.ingest([event("e4", ("email", "ann.lee@northwind.org"),
                                            ("anonymous_id", "c-4"))])
    assert again.profile_id == person  # the old hash matched: no second person
    (new_person,) = await rotating.ingest([event("e5", ("email", "bo.chen@fabrikam.com"))])
    assert await profile_of(rotating, "email", "bo.chen@fabrikam.com") == new_person.profile_id
    view = (await rotating.profiles([person]))[0]
    assert view is not None
    versions = sorted(m.identifier.value[:3] for m in view.identifiers
                      if m.identifier.kind == "email")
    assert versions == ["h1:", "h2:"]
    retired = service_on(store, NEW_KEY)
    assert await profile_of(retired, "email", "ann.lee@northwind.org") == person
    assert await profile_of(retired, "email", "bo.chen@fabrikam.com") == new_person.profile_id
    assert await profile_of(retired, "phone", "4155550100") is None  # not seen in the window
    assert await profile_of(retired, "anonymous_id", "c-2") == person  # still in its profile
    assert await clear_values_in(store) == []


async def test_an_erased_person_stays_erased_during_a_rotation(store: GraphStore) -> None:
    """Erasure's tombstones name the stored hashes: while two keys are listed an event carries
    both, and suppression drops both, so the new key cannot bring the person back; a lift names
    the value under every key (normalize_every_key)."""
    before = service_on(store, OLD_KEY)
    (first,) = await before.ingest([event("g1", ("email", "gone@northwind.org"),
                                          ("anonymous_id", "c-1"))])
    assert first.profile_id is not None
    await before.erase_profile(first.profile_id, "sam", "Art. 17 request")
    rotating = service_on(store, NEW_KEY, OLD_KEY)
    (again,) = await rotating.ingest([event("g2", ("email", "Gone@northwind.org"),
                                            ("anonymous_id", "c-9"))])
    assert again.status is IngestStatus.ACCEPTED  # the cookie is not erased
    assert [w.field for w in again.warnings] == ["identifiers", "identifiers"]
    for service in (rotating, service_on(store, NEW_KEY)):
        assert await profile_of(service, "email", "gone@northwind.org") is None
    lifted = await rotating.lift_suppressions(
        list(rotating.normalize_every_key("email", "gone@northwind.org")), "sam", "came back")
    assert len(lifted.lifted) == 1  # the old hash: the new one was never stored
    (back,) = await rotating.ingest([event("g3", ("email", "gone@northwind.org"))])
    assert await profile_of(rotating, "email", "gone@northwind.org") == back.profile_id
    # Erased inside the window: both hashes are tombstoned, and a lift lifts both.
    assert back.profile_id is not None
    await rotating.erase_profile(back.profile_id, "sam", "Art. 17 again")
    (refused,) = await rotating.ingest([event("g4", ("email", "gone@northwind.org"))])
    assert refused.status is IngestStatus.REJECTED
    lifted = await rotating.lift_suppressions(
        list(rotating.normalize_every_key("email", "gone@northwind.org")), "sam", "back again")
    assert len(lifted.lifted) == 2
