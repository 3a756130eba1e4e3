"""Golden profiles read lately, kept so that callers resolving at rate (gRPC `Resolve`,
`GetProfile`) skip the store and the golden record: most of a lookup's cost.

Kept fresh by invalidation rather than by expiry:
- this process's own commits evict every profile they touched before they are acknowledged
  (`evict`, called by the ingest path right after its transaction commits): read-your-writes;
- a commit by anyone else empties the cache: through the same store object (another
  service built on it) before the next read, as the store counts its commits
  (`GraphStore.commits`); by another process writing the same SQLite file (such as
  `identity ingest`) within a millisecond, as the store says (`GraphStore.commits_elsewhere`)
  and reads look (`LOOK_EVERY_S`);
- a read that started before an eviction does not store what it read (`Ticket`).
A store that cannot tell about other writers cheaply (Neo4j, shared by replicas) is followed
through its change log instead (log_follower.py): the cache serves only while the log has been
read within the staleness bound, and forgets what every commit, made anywhere, changed.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from identity.domain.types import Identifier, ProfileId

if TYPE_CHECKING:
    from identity.service.log_follower import LogFollower
    from identity.service.queries import ProfileView

T = TypeVar("T")
DEFAULT_CAPACITY = 10_000  # profiles
# How stale another process's commit may find the cache, at most. Looking is a store call
# (on SQLite, as much as the rest of a cached Resolve): once a millisecond, not per read.
LOOK_EVERY_S = 0.001


@dataclass(slots=True)
class _Entry:
    identifiers: set[Identifier] = field(default_factory=set)
    view: ProfileView | None = None
    # What entry points made of `view` (a protobuf message, say), so that work is done once too.
    renderings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Ticket:
    """Taken before a store read; what the read found is kept only if nothing was evicted
    in between (an eviction could concern what it read)."""

    epoch: int


class CommitCounts(Protocol):
    """What the cache asks the store (GraphStore has both)."""

    def commits(self) -> int: ...

    def commits_elsewhere(self) -> int | None: ...


class ProfileCache:
    def __init__(self, capacity: int, store: CommitCounts,
                 follower: LogFollower | None = None) -> None:
        """Raises ValueError for a negative capacity. `follower`: for a store that cannot
        tell about other writers (Neo4j), what keeps the cache right across replicas; with
        neither, nothing is cached."""
        if capacity < 0:
            raise ValueError(f"the profile cache holds 0 or more profiles, got {capacity}")
        self._capacity = capacity
        self._store = store
        self._seen_elsewhere = store.commits_elsewhere() if capacity > 0 else None
        self._follower = follower if capacity > 0 and self._seen_elsewhere is None else None
        if self._follower is not None:
            self._follower.attach(self._forget, self.clear)
        self._enabled = self._seen_elsewhere is not None or self._follower is not None
        self._seen_here = store.commits()
        self._entries: OrderedDict[ProfileId, _Entry] = OrderedDict()
        self._placements: dict[Identifier, ProfileId] = {}
        self._epoch = 0
        self._next_look = 0.0

    @property
    def enabled(self) -> bool:
        return self._enabled

    async def catch_up(self) -> None:
        """Before a read: on a store followed through its change log, reads the log when it
        is due (log_follower.py); nothing to do otherwise."""
        if self._enabled and self._follower is not None:
            await self._follower.refresh()

    def ticket(self) -> Ticket | None:
        """None: serve this read from the store and keep nothing. Empties the cache when the
        store has been written by anyone but this cache's own ingest path: through the same
        store object (always seen), or by another process (seen within LOOK_EVERY_S)."""
        if not self._enabled:
            return None
        if (here := self._store.commits()) != self._seen_here:
            self.clear()
            self._seen_here = here
        if self._follower is not None:
            return Ticket(self._epoch) if self._follower.fresh() else None
        if (now := time.monotonic()) >= self._next_look:
            elsewhere = self._store.commits_elsewhere()
            if elsewhere is None:  # cannot tell just now (an error, a closed store)
                self.clear()
                self._seen_elsewhere, self._next_look = None, 0.0
                return None
            if elsewhere != self._seen_elsewhere:
                self.clear()
                self._seen_elsewhere = elsewhere
            self._next_look = now + LOOK_EVERY_S
        return Ticket(self._epoch)

    def profile_id(self, identifier: Identifier) -> ProfileId | None:
        return self._placements.get(identifier)

    def view(self, profile_id: ProfileId) -> ProfileView | None:
        entry = self._entries.get(profile_id)
        if entry is None or entry.view is None:
            return None
        self._entries.move_to_end(profile_id)
        return entry.view

    def view_of(self, identifier: Identifier) -> ProfileView | None:
        profile_id = self._placements.get(identifier)
        return self.view(profile_id) if profile_id is not None else None

    def keep_placements(self, ticket: Ticket | None,
                        placed: Mapping[Identifier, ProfileId | None]) -> None:
        if ticket is None or ticket.epoch != self._epoch:
            return
        for identifier, profile_id in placed.items():
            if profile_id is not None:
                self._entry(profile_id).identifiers.add(identifier)
                self._placements[identifier] = profile_id

    def keep_views(self, ticket: Ticket | None, views: Mapping[Any, ProfileView | None]) -> None:
        for view in views.values():
            if view is not None:
                self.keep_view(ticket, view)

    def keep_view(self, ticket: Ticket | None, view: ProfileView) -> None:
        """Only a profile read by its own id (not through an id merged into it)."""
        if ticket is None or ticket.epoch != self._epoch or view.requested_id != view.profile_id:
            return
        entry = self._entry(view.profile_id)
        if entry.view is not view:
            entry.view, entry.renderings = view, {}
        self.keep_placements(ticket, {n.identifier: view.profile_id for n in view.identifiers})

    def rendering(self, view: ProfileView, kind: str, render: Callable[[ProfileView], T]) -> T:
        """`render(view)`, made once per cached view and kind; views not cached are rendered
        every time."""
        entry = self._entries.get(view.profile_id)
        if entry is None or entry.view is not view:
            return render(view)
        if kind not in entry.renderings:
            entry.renderings[kind] = render(view)
        rendered: T = entry.renderings[kind]
        return rendered

    def evict(self, profile_ids: Iterable[ProfileId]) -> None:
        """After a commit of this cache's own ingest path (or a failed attempt at one), before
        it is acknowledged: the profiles it touched, gone. Whatever else was committed through
        the store since the last look empties the cache."""
        if not self._enabled:
            return
        here = self._store.commits()
        if here - self._seen_here > 1:
            self.clear()
        else:
            self._epoch += 1
            for profile_id in profile_ids:
                self._drop(profile_id)
        self._seen_here = here

    def _forget(self, profile_ids: Iterable[ProfileId]) -> None:
        """What a commit made elsewhere changed (the log follower): gone, and reads in
        flight keep nothing."""
        self._epoch += 1
        for profile_id in profile_ids:
            self._drop(profile_id)

    async def status(self) -> dict[str, object]:
        if not self._enabled:
            return {"enabled": False}
        if self._follower is None:
            return {"enabled": True, "kept_right_by": "commit counts", "profiles": len(self)}
        serving = await self._follower.refresh()  # asked at start-up (/readyz) too
        staleness = self._follower.staleness_s()
        return {"enabled": True, "kept_right_by": "change log", "profiles": len(self),
                "staleness_bound_ms": round(self._follower.bound_s * 1000),
                "staleness_ms": round(staleness * 1000) if staleness < 1e9 else None,
                "serving": serving}

    def clear(self) -> None:
        self._epoch += 1
        self._entries.clear()
        self._placements.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def _entry(self, profile_id: ProfileId) -> _Entry:
        entry = self._entries.get(profile_id)
        if entry is None:
            entry = self._entries[profile_id] = _Entry()
            while len(self._entries) > self._capacity:
                self._drop(next(iter(self._entries)))
        else:
            self._entries.move_to_end(profile_id)
        return entry

    def _drop(self, profile_id: ProfileId) -> None:
        entry = self._entries.pop(profile_id, None)
        if entry is None:
            return
        for identifier in entry.identifiers:
            if self._placements.get(identifier) == profile_id:
                del self._placements[identifier]
