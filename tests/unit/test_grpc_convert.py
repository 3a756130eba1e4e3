"""Profiles as protobuf messages, whatever an older release stored."""

from __future__ import annotations

from datetime import UTC, datetime

from identity.api.grpc import convert
from identity.domain.survivorship import GoldenField, OrderSummary
from identity.domain.types import Identifier, ProfileId
from identity.service.queries import ProfileView
from identity.store.protocol import NodeRow

WHEN = datetime(2024, 5, 1, tzinfo=UTC)


def test_a_stored_trait_holding_a_lone_surrogate_is_shown_escaped_not_failing_the_read() -> None:
    """Releases before text validation let such a trait through; reads of its profile must
    keep working (protobuf strings are UTF-8, which a lone surrogate is not)."""
    view = ProfileView(
        profile_id=ProfileId("prf_1"), requested_id="prf_1", created_at=WHEN, merged_ids=(),
        identifiers=(NodeRow(Identifier("customer_id", "C-1"), 1, WHEN, WHEN),),
        golden={"first_name": GoldenField("first_name", "Ann\ud800", "crm", WHEN, "e1", 1)},
        orders=OrderSummary(0, ()))

    message = convert.profile(view)

    assert message.SerializeToString()
    assert [g.value for g in message.golden] == ["Ann\\ud800"]
