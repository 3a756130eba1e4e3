"""Keeps a profile cache right on a store that other replicas write (Neo4j): follows the
durable change log and forgets every profile a commit changed, wherever it was made.

Every commit that changes what a profile's view shows appends to the log (its changes, and
one entry naming the profiles whose view moved with no change, such as a last_seen moved by
a sighting). Before a read uses the cache, the log is read from where it was left off if the
last complete read started more than half the staleness bound ago (reads arriving meanwhile
share that one read; an idle replica reads nothing). The cache serves a profile only while the
last read of the log to its end *started* within the bound (`fresh`): a commit made anywhere is
forgotten by every replica within the bound, never later; a replica whose log reads fail
serves from the store. No task outlives the reads that asked for it. This replica's own writes
are forgotten before they are acknowledged (ProfileCache.evict), so it reads its writes at
once. See docs/architecture.md, "Caching across replicas".
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from datetime import timedelta

from prometheus_client import Gauge

from identity.domain.types import ProfileId
from identity.store.protocol import ChangePage, GraphStore

log = logging.getLogger("identity.cache")

BOUND = Gauge("identity_profile_cache_staleness_bound_seconds",
              "How late the profile cache may learn of another replica's write, at most")
STALENESS = Gauge("identity_profile_cache_staleness_seconds",
                  "Age of the last complete read of the change log (over the bound: the cache "
                  "is not used)")

DEFAULT_STALENESS_BOUND = timedelta(milliseconds=100)
PAGE_SIZE = 1_000  # log entries read per query while catching up
RETRY_AFTER_ERROR_S = 1.0


class LogFollower:
    """Reads the change log after its position and tells the cache what to forget."""

    def __init__(self, store: GraphStore, bound: timedelta = DEFAULT_STALENESS_BOUND,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """Raises ValueError for a bound that is not positive."""
        if bound <= timedelta(0):
            raise ValueError(f"the staleness bound must be positive, got {bound}")
        self._store = store
        self.bound_s = bound.total_seconds()
        self._clock = clock
        self._forget: Callable[[Iterable[ProfileId]], None] = lambda ids: None
        self._clear: Callable[[], None] = lambda: None
        self._position: int | None = None  # None: not read yet (the cache is empty till then)
        # What the last poll forgot, forgotten again by the next: on Neo4j a commit's writes
        # become visible one by one, so a read may see a profile as it was after its entry
        # was already read (docs/architecture.md, "Caching across replicas").
        self._again: set[ProfileId] = set()
        self._fresh_as_of = float("-inf")  # when the last poll that reached the end started
        self._reading: asyncio.Task[None] | None = None  # the read of the log under way
        self._retry_at = float("-inf")  # after a failed read, the next not before
        # One service per process: its follower is the one the metrics show.
        BOUND.set(self.bound_s)
        STALENESS.set_function(lambda: min(self.staleness_s(), 1e9))

    def attach(self, forget: Callable[[Iterable[ProfileId]], None],
               clear: Callable[[], None]) -> None:
        self._forget, self._clear = forget, clear

    def fresh(self) -> bool:
        """True while the cache may serve: the log was read to its end by a read that
        started within the bound."""
        return self.staleness_s() <= self.bound_s

    async def refresh(self) -> bool:
        """Before a read: reads the log when the last complete read started more than half
        the bound ago (callers at that moment share one read; after a failure, none for
        RETRY_AFTER_ERROR_S). True when the cache may serve."""
        if self.staleness_s() > self.bound_s / 2 and self._clock() >= self._retry_at:
            loop = asyncio.get_running_loop()
            if self._reading is None or self._reading.done() or \
                    self._reading.get_loop() is not loop:
                self._reading = loop.create_task(self._read_log(),
                                                 name="profile-cache-log-read")
            await asyncio.shield(self._reading)
        return self.fresh()

    async def _read_log(self) -> None:
        try:
            await self.poll()
        except Exception as error:
            self._retry_at = self._clock() + RETRY_AFTER_ERROR_S
            log.warning("profile cache: reading the change log failed (%s); reads go to the "
                        "store until it succeeds", type(error).__name__)

    def staleness_s(self) -> float:
        """How old the newest commit the cache may not know of can be, at most (infinite
        before the first poll, or while polls fail)."""
        return self._clock() - self._fresh_as_of

    async def poll(self) -> None:
        """Reads the log from the position to its end (as far as commits are visible)."""
        started = self._clock()
        again, self._again = self._again, set()
        if again:
            self._forget(again)
        while True:
            async with self._store.transaction(read_only=True) as tx:
                if self._position is None:  # the start: nothing is cached, so skip the past
                    page = await tx.changes.read_changes(0, 0, ())
                    self._position = page.last
                    break
                before = self._position
                page = await tx.changes.read_changes(before, PAGE_SIZE, ())
            self._apply(before, page)
            if page.through >= page.last or page.through - before < PAGE_SIZE:
                break  # the end, or a commit still becoming visible: the next poll takes it
        self._fresh_as_of = started

    def _apply(self, before: int, page: ChangePage) -> None:
        named = {p for row in page.changes for p in row.change.mentioned_ids}
        named.update(page.touched)
        self._again |= named
        if page.pruned_through > before or page.last < before:
            # Entries gone unread, or a log that went back (a restored or wiped database):
            # forget everything and follow the log from where it is now.
            self._clear()
            self._position = max(page.through, page.pruned_through) \
                if page.last >= before else page.last
        else:
            if named:  # an empty page leaves reads in flight alone
                self._forget(named)
            self._position = page.through
