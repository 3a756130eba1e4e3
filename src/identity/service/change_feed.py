"""The change feed: profile changes from the durable change log, resumable from a position.

Every change is logged in the transaction that made it (the ingest appends it last), under a
position that orders the log: a watcher gives the position of the last change it received and
gets exactly the later ones, then waits for more. Commits in this process wake watchers at once;
other replicas' commits are found by polling. A watcher holds no transaction between pages and
registers nothing, so one that goes away leaves nothing behind. Retention is bounded: changes
older than DEFAULT_RETENTION (7 days, as Kafka keeps a topic by default) are pruned, and a
resume from a pruned position is refused, never served with a silent gap.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime, timedelta

from identity.domain.changes import ProfileChange
from identity.domain.errors import FieldError, ValidationError
from identity.store.errors import StoreConflict, StoreUnavailable
from identity.store.protocol import ChangePage, GraphStore

log = logging.getLogger("identity.changes")

DEFAULT_RETENTION = timedelta(days=7)
PAGE_SIZE = 500
POLL_INTERVAL_S = 0.5  # how late a change committed by another replica can arrive
MAX_WATCHED_IDS = 1_000
_POSITION = re.compile(r"[0-9]{1,20}")
_MAX_POSITION = 2**63 - 1  # Neo4j integers are 64-bit; so are SQLite's


def format_position(position: int) -> str:
    """Zero-padded, so positions also sort as strings; clients should treat them as opaque."""
    return f"{position:020d}"


def parse_position(text: str) -> int:
    if not _POSITION.fullmatch(text) or int(text) > _MAX_POSITION:
        raise ValidationError.of("after", f"not a change position: {text[:40]!r}; pass the "
                                 "position of the last change received, or none to start "
                                 "from the oldest")
    return int(text)


class PositionPruned(ValidationError):
    """The log no longer holds every change after the position: resuming would skip some."""


@dataclass(frozen=True, slots=True)
class PositionedChange:
    position: str  # pass it back as `after` to resume after this change
    change: ProfileChange


class ChangeSignal:
    """Wakes every watcher once per commit that logged changes, in this process."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        # A fresh event per commit: a watcher that took the old one before reading the log
        # wakes for a commit it may have missed, and never sleeps through one.
        self._event.set()
        self._event = asyncio.Event()

    def current(self) -> asyncio.Event:
        return self._event


def _watched(profile_ids: Sequence[str]) -> list[str]:
    if len(profile_ids) > MAX_WATCHED_IDS:
        raise ValidationError.of("profile_ids",
                                 f"at most {MAX_WATCHED_IDS}, got {len(profile_ids)}")
    errors = [FieldError(f"profile_ids[{i}]", "must not be empty")
              for i, profile_id in enumerate(profile_ids) if not profile_id.strip()]
    if errors:
        raise ValidationError(errors)
    return sorted({profile_id.strip() for profile_id in profile_ids})


class ChangeFeed:
    def __init__(self, store: GraphStore, signal: ChangeSignal, *,
                 poll_interval_s: float = POLL_INTERVAL_S, page_size: int = PAGE_SIZE) -> None:
        self._store = store
        self._signal = signal
        self._poll_interval_s = poll_interval_s
        self._page_size = page_size

    async def watch(self, after: str | None, profile_ids: Sequence[str]
                    ) -> AsyncGenerator[PositionedChange, None]:
        """Changes after `after` (from the oldest kept when None), in position order, that
        mention one of `profile_ids` (all when empty); never ends on its own."""
        async with aclosing(self.pages(after, profile_ids)) as pages:
            async for page in pages:
                for change in page:
                    yield change

    async def pages(self, after: str | None, profile_ids: Sequence[str], *,
                    poll_interval_s: float | None = None
                    ) -> AsyncGenerator[list[PositionedChange], None]:
        """As `watch`, a page of the log at a time (at most the page size, never empty): for
        a reader that handles changes in batches (the Kafka relay). `poll_interval_s`: how
        often the log is read for other replicas' commits, when sooner than the default."""
        poll_s = self._poll_interval_s if poll_interval_s is None else poll_interval_s
        wanted = _watched(profile_ids)
        cursor = 0 if after is None else parse_position(after)
        from_oldest = after is None  # until the first page is scanned, a prune may move us
        checked = False
        while True:
            woken = self._signal.current()  # taken before reading: no commit falls between
            page = await self._read(cursor, wanted)
            if not checked and cursor > page.last:
                raise ValidationError.of(
                    "after", f"position {format_position(cursor)} is ahead of the change log "
                    f"(its last is {format_position(page.last)}): it comes from another "
                    "store, or the store was restored from an older backup")
            checked = True
            if page.pruned_through > cursor:
                if from_oldest:
                    cursor = page.pruned_through
                    continue
                raise PositionPruned.of(
                    "after", f"the changes after position {format_position(cursor)} are no "
                    f"longer kept (pruned through {format_position(page.pruned_through)}, "
                    "after the retention period); watch from the oldest kept (no position) "
                    "and reread the profiles you follow")
            if page.changes:
                yield [PositionedChange(format_position(row.position), row.change)
                       for row in page.changes]
            from_oldest = from_oldest and page.through == cursor
            scanned, cursor = page.through - cursor, page.through
            if scanned < self._page_size:  # caught up: wait for a commit, or poll
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(poll_s):
                        await woken.wait()

    async def latest(self) -> str:
        """The newest change's position: watching after it yields the changes from now on,
        without replaying the log (a page that shows a profile and then follows it)."""
        async with self._store.transaction(read_only=True) as tx:
            return format_position(await tx.changes.last_position())

    async def _read(self, after: int, wanted: list[str]) -> ChangePage:
        async with self._store.transaction(read_only=True) as tx:
            return await tx.changes.read_changes(after, self._page_size, wanted)


class ChangeRetention:
    """Prunes changes older than `max_age`, a batch at a time, at most every `interval_s`
    (and at once again while a full batch went), so the log stays bounded without a
    background task and without one long transaction."""

    def __init__(self, store: GraphStore, max_age: timedelta = DEFAULT_RETENTION, *,
                 interval_s: float = 60.0, batch: int = 1_000) -> None:
        self._store = store
        self._max_age = max_age
        self._interval_s = interval_s
        self._batch = batch
        self._due = 0.0  # monotonic seconds

    async def prune_if_due(self, now: datetime) -> int:
        if time.monotonic() < self._due:
            return 0
        self._due = time.monotonic() + self._interval_s  # set first: one pruner at a time
        try:
            async with self._store.transaction() as tx:
                pruned = await tx.changes.prune_changes(now - self._max_age, self._batch)
        except (StoreConflict, StoreUnavailable) as exc:  # another replica's turn; next time
            log.warning("change log not pruned: %s", exc)
            return 0
        if pruned == self._batch:
            self._due = 0.0
        return pruned
