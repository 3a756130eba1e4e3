"""Profiles as protobuf messages, whatever an older release stored."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from identity.api.grpc import convert
from identity.domain.links import MAX_EVENT_IDS_SHOWN, Evidence, Link
from identity.domain.survivorship import GoldenField, OrderSummary
from identity.domain.types import Identifier, ProfileId
from identity.service.explain import LinkStep
from identity.service.queries import Member, ProfileView

WHEN = datetime(2024, 5, 1, tzinfo=UTC)


def test_a_stored_trait_holding_a_lone_surrogate_is_shown_escaped_not_failing_the_read() -> None:
    """Releases before text validation let such a trait through; reads of its profile must
    keep working (protobuf strings are UTF-8, which a lone surrogate is not)."""
    view = ProfileView(
        profile_id=ProfileId("prf_1"), requested_id="prf_1", created_at=WHEN, merged_ids=(),
        identifiers=(Member(Identifier("customer_id", "C-1"), WHEN, WHEN),),
        golden={"first_name": GoldenField("first_name", "Ann\ud800", "crm", WHEN, "e1", 1)},
        orders=OrderSummary(0, ()))

    message = convert.profile(view)

    assert message.SerializeToString()
    assert [g.value for g in message.golden] == ["Ann\\ud800"]


def test_a_link_lists_the_events_the_store_read_and_counts_them_all() -> None:
    evidence = Evidence("same_event", ("web",), WHEN, WHEN,
                        tuple(f"e{n:05d}" for n in range(1, MAX_EVENT_IDS_SHOWN + 1)), 500)
    message = convert.link(LinkStep(Link(Identifier("email", "a@b.c"),
                                         Identifier("phone", "+14155550100"), evidence), None))
    assert list(message.event_ids) == [f"e{n:05d}" for n in range(1, MAX_EVENT_IDS_SHOWN + 1)]
    assert message.event_count == 500


def test_updated_at_is_set_from_the_view_and_left_unset_without_one() -> None:
    """proto3 has no null: a profile with no version recorded has no updated_at at all."""
    view = ProfileView(
        profile_id=ProfileId("prf_1"), requested_id="prf_1", created_at=WHEN, merged_ids=(),
        identifiers=(Member(Identifier("customer_id", "C-1"), WHEN, WHEN),), golden={},
        orders=OrderSummary(0, ()))
    assert not convert.profile(view).HasField("updated_at")
    later = datetime(2024, 5, 2, 8, 30, 0, 250_000, tzinfo=UTC)
    message = convert.profile(replace(view, version=3, updated_at=later))
    assert message.updated_at.ToDatetime(tzinfo=UTC) == later
