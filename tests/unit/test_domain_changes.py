"""Outbound change events: what a consumer reads from the event itself."""

from __future__ import annotations

from datetime import UTC, datetime

from identity.domain.changes import ChangeKind, ProfileChange
from identity.domain.types import EventId, ProfileId

AT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def test_a_change_id_names_the_event_the_kind_and_the_profile_so_a_replay_repeats_it() -> None:
    change = ProfileChange(
        ChangeKind.MERGED, ProfileId("p1"), EventId("e9"), AT, absorbed_ids=(ProfileId("p2"),)
    )
    replayed = ProfileChange(
        ChangeKind.MERGED, ProfileId("p1"), EventId("e9"), AT, absorbed_ids=(ProfileId("p2"),)
    )
    assert change.change_id == replayed.change_id == "e9/merged/p1"
    assert ProfileChange(ChangeKind.UPDATED, ProfileId("p1"), EventId("e9"), AT).change_id == (
        "e9/updated/p1"
    )


def test_a_change_mentions_its_profile_then_the_absorbed_and_the_carved_out_ones() -> None:
    merge = ProfileChange(
        ChangeKind.MERGED,
        ProfileId("p1"),
        EventId("e1"),
        AT,
        absorbed_ids=(ProfileId("p2"), ProfileId("p3")),
    )
    split = ProfileChange(
        ChangeKind.SPLIT, ProfileId("p1"), EventId("e2"), AT, split_ids=(ProfileId("p4"),)
    )
    created = ProfileChange(ChangeKind.CREATED, ProfileId("p5"), EventId("e3"), AT)
    assert merge.mentioned_ids == ("p1", "p2", "p3")
    assert split.mentioned_ids == ("p1", "p4")
    assert created.mentioned_ids == ("p5",)
