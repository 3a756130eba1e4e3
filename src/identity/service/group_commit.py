"""Group commit: ingest calls that overlap share one transaction.

A producer that sends one event per call and waits for its acknowledgement pays for one
durable commit (an fsync) per event. When calls overlap, the caller whose turn comes commits
everything pending at that moment in one transaction, and each caller still gets the outcome of
its own events: one commit for many acknowledgements, none of them given before it is durable.
A caller alone sees no difference.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from identity.domain.events import Event
from identity.domain.types import EventId
from identity.service.batch import Applied

Outcome = dict[EventId, Applied | None]  # None: the event was already there (a duplicate)
Commit = Callable[[list[Event]], Awaitable[Outcome]]

MAX_GROUP_EVENTS = 2_000
# What a commit costs grows with the identifiers it resolves, and the embedded store commits
# on the event loop: a request is committed in parts of at most this many identifiers
# (commit_parts), and a group never holds more, so no commit keeps the loop from other
# requests for long (about 0.4 s on a 2-core machine when every event is over a per-profile
# limit).
MAX_COMMIT_IDENTIFIERS = 2_000


@dataclass(eq=False)
class _Waiting:
    events: list[Event]
    done: asyncio.Future[Outcome] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future())

    @property
    def identifiers(self) -> int:
        return sum(len(e.identifiers) for e in self.events)


class GroupCommit:
    def __init__(self, commit: Commit, max_events: int = MAX_GROUP_EVENTS) -> None:
        self._commit = commit  # one whole transaction, retried on conflicts by the caller
        self._max_events = max_events
        self._pending: list[_Waiting] = []
        self._turn = asyncio.Lock()  # fair: callers take turns in arrival order

    async def submit(self, events: list[Event]) -> Outcome:
        """`events` in one commit, or in one with other callers' (Ingestor cuts a big
        request into parts of at most MAX_COMMIT_IDENTIFIERS identifiers first)."""
        waiting = _Waiting(events)
        self._pending.append(waiting)
        # A caller cancelled before its events are taken leaves them queued: they may still
        # be committed (at least once; the producer's retry is then a duplicate).
        async with self._turn:
            # Let callers that are ready right now join this commit: a store that never
            # yields while it works (SQLite) would otherwise commit them one by one. A turn
            # may hold others' events only (the size cap): commit until ours are in.
            await asyncio.sleep(0)
            while not waiting.done.done():
                await self._commit_pending()
        return await waiting.done

    def _take(self) -> list[_Waiting]:
        group: list[_Waiting] = []
        events = identifiers = 0
        while self._pending and (not group or (
                events + len(self._pending[0].events) <= self._max_events
                and identifiers + self._pending[0].identifiers <= MAX_COMMIT_IDENTIFIERS)):
            group.append(self._pending.pop(0))
            events += len(group[-1].events)
            identifiers += group[-1].identifiers
        return group

    async def _commit_pending(self) -> None:
        group = self._take()
        try:
            outcome = await self._commit(_merged(group))
        except asyncio.CancelledError:
            self._pending[:0] = group  # the next turn commits them
            raise
        except Exception as exc:  # handed to the callers it concerns
            if len(group) == 1:
                group[0].done.set_exception(exc)
                return
            for position, waiting in enumerate(group):  # one caller's bad luck must not
                try:                                     # fail the others
                    waiting.done.set_result(await self._commit(waiting.events))
                except Exception as alone:
                    waiting.done.set_exception(alone)
                except asyncio.CancelledError:
                    self._pending[:0] = group[position:]  # the next turn commits them
                    raise
            return
        claimed: set[EventId] = set()
        for waiting in group:
            mine = {e.event_id: outcome.get(e.event_id) if e.event_id not in claimed else None
                    for e in waiting.events}
            claimed.update(mine)
            waiting.done.set_result(mine)


def commit_parts(events: list[Event]) -> list[list[Event]]:
    """The events in order, cut into parts of at most MAX_COMMIT_IDENTIFIERS identifiers (an
    event never cut)."""
    parts: list[list[Event]] = [[]]
    size = 0
    for event in events:
        if parts[-1] and size + len(event.identifiers) > MAX_COMMIT_IDENTIFIERS:
            parts.append([])
            size = 0
        parts[-1].append(event)
        size += len(event.identifiers)
    return parts


def _merged(group: list[_Waiting]) -> list[Event]:
    """Every caller's events in arrival order; an event id two callers both sent is applied
    once, for the first, and is a duplicate for the other."""
    seen: set[EventId] = set()
    merged: list[Event] = []
    for waiting in group:
        for event in waiting.events:
            if event.event_id not in seen:
                seen.add(event.event_id)
                merged.append(event)
    return merged
