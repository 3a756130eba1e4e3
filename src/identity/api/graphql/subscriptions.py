"""The Subscription root type: profileChanges, the change feed over graphql-transport-ws.

The same feed as gRPC WatchChanges, with the same fields and the same refusals: a bad or pruned
`after` is the service's error as it is, profile ids are checked as every resolver checks them,
and an open subscription takes one of the watch slots gRPC's streams take (docs/architecture.md,
"Hostile input"). Everything that can refuse a subscription does so before it starts, so the
client gets the protocol's `error` message for its operation, never a stream that ends at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field
from typing import Annotated

import strawberry
from graphql import GraphQLError
from prometheus_client import Counter, Gauge

from identity.api.graphql.context import Context
from identity.api.graphql.permissions import check
from identity.api.graphql.types import ProfileChange
from identity.api.limits import check_profile_ids, indexed
from identity.api.watch_slots import WatchSlots
from identity.domain.errors import ValidationError
from identity.service.change_feed import MAX_WATCHED_IDS, PositionedChange

OPEN = Gauge("identity_graphql_subscriptions", "Open GraphQL profileChanges subscriptions")
REFUSED = Counter("identity_graphql_subscriptions_refused_total",
                  "GraphQL profileChanges subscriptions refused because the open-watch limit "
                  "was reached")


@dataclass
class WatchContext(Context):
    """The context of a server that serves subscriptions: the watch slots they take, and
    what the client sent in connection_init (strawberry sets it), where a browser, which
    cannot set headers on a WebSocket, puts its credentials."""

    watches: WatchSlots = field(kw_only=True)
    connection_params: dict[str, object] | None = field(default=None, kw_only=True)
    # The Authorization value the socket authenticated with (header or connection_init),
    # verified again while the socket is open (http.py, TransportWS).
    credential: str | None = field(default=None, kw_only=True)


Info = strawberry.Info[WatchContext, None]


class _Slot:
    """One taken watch slot, given back once: when the subscription's stream closes, or at the
    latest when the task running the operation ends (a stream closed before its first item
    never runs its own clean-up, and a slot lost would be lost for good)."""

    def __init__(self, slots: WatchSlots) -> None:
        self._slots = slots
        self._held = True
        OPEN.inc()
        if (task := asyncio.current_task()) is not None:
            task.add_done_callback(lambda _: self.give_back())

    @classmethod
    def take(cls, slots: WatchSlots) -> _Slot:
        if not slots.try_take():
            REFUSED.inc()
            raise GraphQLError(
                f"at most {slots.limit} watches (GraphQL profileChanges subscriptions, gRPC "
                "WatchChanges and health Watch streams) are open on this server; retry later",
                extensions={"code": "RESOURCE_EXHAUSTED"})
        return cls(slots)

    def give_back(self) -> None:
        if self._held:
            self._held = False
            self._slots.give_back()
            OPEN.dec()


async def _following(first: PositionedChange, changes: AsyncGenerator[PositionedChange, None],
                     slot: _Slot) -> AsyncGenerator[ProfileChange, None]:
    try:
        yield ProfileChange.from_domain(first)
        async for positioned in changes:
            yield ProfileChange.from_domain(positioned)
    finally:
        slot.give_back()
        await changes.aclose()  # a watcher that leaves lets go now, not when collected


@strawberry.type
class Subscription:
    @strawberry.subscription(description=(
        "Profile changes as they happen (created, updated, merged, split), in commit order, "
        "optionally for some profiles only, resumable after the position of the last change "
        "received; never ends on its own. The feed and the fields of gRPC WatchChanges."))
    async def profile_changes(
        self, info: Info,
        after: Annotated[str | None, strawberry.argument(description=(
            "Resume after this position (the position of the last change received); from "
            "the oldest change still kept when null."))] = None,
        profile_ids: Annotated[Sequence[strawberry.ID] | None, strawberry.argument(description=(
            "Only changes to these profiles (a merge or a split names several); all when "
            f"empty. At most {MAX_WATCHED_IDS}."))] = (),
    ) -> AsyncGenerator[ProfileChange, None]:
        # strawberry runs subscriptions past the operation-wide check (permissions.py).
        check(info.context.principal, "subscription", "profileChanges")
        ids = [str(p) for p in profile_ids or ()]
        if len(ids) > MAX_WATCHED_IDS:  # by count, before any id is checked
            raise ValidationError.of("profileIds",
                                     f"at most {MAX_WATCHED_IDS} per request, got {len(ids)}")
        check_profile_ids(indexed("profileIds", ids))
        slot = _Slot.take(info.context.watches)
        changes = info.context.service.watch_changes(after, ids)
        try:
            # The feed checks `after` on its first read: waiting for the first change here
            # makes a refused position this operation's error, like every other refusal.
            first = await anext(changes)
        except BaseException:
            slot.give_back()
            raise
        return _following(first, changes, slot)
