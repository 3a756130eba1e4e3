"""Erasure after a steward split: the erased person's values held by records, blocks and
events of an identifier that stays (anchored elsewhere) go too, on both stores
(docs/architecture.md, "Erasure and access")."""

from __future__ import annotations

import pytest

from identity.domain.matching.defaults import DEFAULT_MODEL
from identity.domain.types import Identifier
from identity.service import IdentityService, IngestStatus
from identity.service.change_sinks import ListChangeSink
from identity.service.matching import Matcher
from identity.store.protocol import GraphStore
from tests.builders import event, ident
from tests.erasure.conftest import ERASURE_KEY, dump, holding
from tests.steward.conftest import ticking_clock

EMAIL = ident("email", "carla.quux@zedmail.org")
PHONE = ident("phone", "+14155552671")
CUSTOMER = ident("customer_id", "c-500")
OTHER = ident("customer_id", "c-88")
ERASED_VALUES = ["carla.quux@zedmail.org", "4155552671", "5552671"]


@pytest.fixture
def matching(store: GraphStore, sink: ListChangeSink) -> IdentityService:
    return IdentityService(store, sink=sink, clock=ticking_clock(), profile_cache=0,
                           matcher=Matcher(DEFAULT_MODEL), erasure_key=ERASURE_KEY)


async def test_split_then_erase_leaves_no_value_in_the_other_side(
        matching: IdentityService, store: GraphStore) -> None:
    names = {"first_name": "Carlotta", "last_name": "Quuxington",
             "date_of_birth": "1987-04-12", "postcode": "94107"}
    results = await matching.ingest([
        event(EMAIL, PHONE, event_id="s0"),  # joins the two: they stay together
        event(EMAIL, PHONE, CUSTOMER, event_id="s1", traits=names),
        # Another customer like her, with an email of their own: the pair is scored, and
        # the link keeps the comparison, field by field.
        event(OTHER, ident("email", "carlotta.q@zedmail.org"), event_id="s2", traits=names),
        # A survivor's event whose traits spell her email and phone their own way.
        event(CUSTOMER, event_id="s3", traits={"contact_email": "Carla.Quux@zedmail.org",
                                               "contact_phone": "(415) 555-2671",
                                               "favourite_colour": "teal"}),
    ])
    assert all(r.status is IngestStatus.ACCEPTED for r in results), results
    profile = results[1].profile_id
    assert profile is not None
    email = Identifier("email", "carla.quux@zedmail.org")
    phone = Identifier("phone", "+14155552671")
    customer = Identifier("customer_id", "c-500")
    split = await matching.split(profile, [[email, phone], [customer]], "steward@northwind.org",
                                 "not the same person")
    (gone,) = [p for p in (await matching.profiles_by_identifier([email]))
               if p is not None]
    kept = (await matching.profiles_by_identifier([customer]))[0]
    assert kept is not None and kept.profile_id != gone.profile_id, split
    before = await dump(store)
    assert all(holding(before, value) for value in ERASED_VALUES)  # the check can fail

    await matching.erase_profile(gone.profile_id, "dpo@northwind.org", "request 130")

    after = await dump(store)
    for value in ERASED_VALUES:
        assert holding(after, value) == {}, value
    # What is the survivor's stays: its record (rebuilt without her fields, filed under the
    # keys of what is left), its event's other traits, the scored link without her value.
    async with store.transaction(read_only=True) as tx:
        (record,) = await tx.matches.read_records([customer])
        (stored,) = [e for e in await tx.events.read_stored_events([customer])
                     if e.event_id == "s3"]
        found = await tx.matches.find_records(list(record.keys), 500)
    assert dict(record.fields) == {"customer_id": "c-500", "date_of_birth": "1987-04-12",
                                   "first_name": "Carlotta", "last_name": "Quuxington",
                                   "postcode": "94107"}
    assert not any(key.startswith(("4:", "5:")) for key in record.keys)
    assert record.record_id in {r.record_id for r in found.records}
    assert stored.traits == (("favourite_colour", "teal"),)
    explained = await matching.explain(customer, Identifier("customer_id", "c-88"))
    assert explained.comparison is not None
    shown = {f.field: (f.left, f.right) for f in explained.comparison.fields}
    assert shown["email"] == (None, "carlotta.q@zedmail.org")
    assert shown["first_name"] == ("Carlotta", "Carlotta")
    (view,) = await matching.profiles([kept.profile_id])
    assert view is not None and view.golden["first_name"].value == "Carlotta"
