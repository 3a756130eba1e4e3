"""Suppression of a phone holds whatever its extension, with PII hashing off and on, on both
stores (docs/architecture.md, "Erasure and access")."""

from __future__ import annotations

import pytest

from identity.domain.identifiers import NormalizationRules
from identity.domain.pii_hashing import parse_keys
from identity.domain.types import Identifier, IdentifierKind
from identity.service import IdentityService, IngestStatus, erasure
from identity.service.erasure import ERASED_REASON
from identity.store.protocol import GraphStore
from tests.builders import event, ident
from tests.erasure.conftest import ERASURE_KEY
from tests.steward.conftest import ticking_clock

PII_KEY = "1:" + "p" * 16 + "ii-key-for-erasure-tests-0123"


def service_on(store: GraphStore, hashing: bool) -> IdentityService:
    rules = NormalizationRules(pii_keys=parse_keys(PII_KEY, "test keys") if hashing else None)
    return IdentityService(store, rules=rules, clock=ticking_clock(), profile_cache=0,
                           erasure_key=ERASURE_KEY)


async def phones_after(service: IdentityService, erased: str, sent: list[str]
                       ) -> list[tuple[IngestStatus, bool, list[str]]]:
    """Erases the person of `erased`, then sends each of `sent` with a cookie: per event its
    status, whether it was warned of an erased identifier, and the kinds its profile holds."""
    (first,) = await service.ingest([event(ident("phone", erased),
                                           ident("anonymous_id", "cookie-0"),
                                           event_id="first")])
    assert first.status is IngestStatus.ACCEPTED and first.profile_id is not None
    await service.erase_profile(first.profile_id, "dpo@northwind.org", "request 131")
    seen = []
    for n, phone in enumerate(sent, 1):
        (result,) = await service.ingest([event(ident("phone", phone),
                                                ident("anonymous_id", f"cookie-{n}"),
                                                event_id=f"again-{n}")])
        assert result.profile_id is not None, result
        (view,) = await service.profiles([result.profile_id])
        assert view is not None
        seen.append((result.status,
                     any(ERASED_REASON in w.reason for w in result.warnings),
                     sorted(m.identifier.kind for m in view.identifiers)))
    return seen


@pytest.mark.parametrize("hashing", [False, True], ids=["clear", "hashed"])
async def test_an_erased_number_is_suppressed_with_any_extension(store: GraphStore,
                                                                 hashing: bool) -> None:
    service = service_on(store, hashing)
    seen = await phones_after(service, "+14155552671",
                              ["+1 415 555 2671 ext. 9", "+1 (415) 555-2671;ext=1"])
    assert seen == [(IngestStatus.ACCEPTED, True, ["anonymous_id"])] * 2


@pytest.mark.parametrize("hashing", [False, True], ids=["clear", "hashed"])
async def test_a_number_erased_with_an_extension_is_suppressed_bare(store: GraphStore,
                                                                   hashing: bool) -> None:
    service = service_on(store, hashing)
    seen = await phones_after(service, "+1 415 555 2671 ext. 7",
                              ["+14155552671", "+1 415 555 2671 ext. 9", "+14155550100"])
    assert seen == [(IngestStatus.ACCEPTED, True, ["anonymous_id"])] * 2 + [
        (IngestStatus.ACCEPTED, False, ["anonymous_id", "phone"])]  # another number


@pytest.mark.parametrize("hashing", [False, True], ids=["clear", "hashed"])
async def test_lifting_the_number_with_an_extension_lifts_it(store: GraphStore,
                                                             hashing: bool) -> None:
    service = service_on(store, hashing)
    await phones_after(service, "+14155552671", [])
    phone = service.normalize_every_key("phone", "+1 415 555 2671 ext. 9")
    lifted = await service.lift_suppressions(phone, "dpo@northwind.org", "consented again")
    assert lifted.lifted == phone
    (result,) = await service.ingest([event(ident("phone", "+14155552671"), event_id="back")])
    assert result.status is IngestStatus.ACCEPTED and not result.warnings


def test_ingest_hashes_an_identifier_once_unless_it_has_a_second_form(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Every identifier of every event is hashed at ingest: two HMACs only for a phone with
    an extension (its bare number, and itself), one otherwise."""
    calls: list[Identifier] = []
    real = erasure.keyed_hash

    def counted(key: bytes, identifier: Identifier) -> str:
        calls.append(identifier)
        return real(key, identifier)

    monkeypatch.setattr(erasure, "keyed_hash", counted)
    email = Identifier(IdentifierKind.EMAIL, "ann@example.org")
    bare = Identifier(IdentifierKind.PHONE, "+14155550100")
    extended = Identifier(IdentifierKind.PHONE, "+14155550100;ext=12")
    assert len(erasure.tombstone_hashes(b"k", email)) == 1 and calls == [email]
    calls.clear()
    assert len(erasure.tombstone_hashes(b"k", bare)) == 1 and calls == [bare]
    calls.clear()
    hashes = erasure.tombstone_hashes(b"k", extended)
    assert hashes == {real(b"k", bare), real(b"k", extended)} and len(calls) == 2
