"""The audit of personal data shown in the clear (docs/architecture.md, "Security and
privacy", "Audit of PII reads"): who was shown which fields of which profiles, and when,
kept in the store's audit log as `read_pii` entries beside the stewards' actions.

A read must not wait on a write, so entries go to a bounded buffer that a task flushes every
second, or as soon as FLUSH_AT entries wait, and once more at shutdown: one transaction and
one `append_entries` per flush. Reads by the same caller of the same profiles between two
flushes are one entry (the time of the first, the fields of all, how many reads and the time
of the last), so a service reading a few hot profiles thousands of times a second writes a
few rows a second, not thousands. A full buffer drops the new entry rather than blocking the
read or growing without bound, and says so (a metric, and one log line per overflow, which
names no one's data). A flush that fails puts its entries back, as many as fit.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import datetime

from prometheus_client import Counter, Gauge

from identity.domain.types import ProfileId
from identity.service.history import new_action_id
from identity.store.protocol import AuditEntry, GraphStore

log = logging.getLogger("identity.audit")

READ_PII = "read_pii"  # the audit log's action for a read of personal data in the clear
READ_REASON = "personal data shown in the clear"
CAPACITY = 10_000  # entries waiting, at most
FLUSH_AT = 500  # a flush starts as soon as this many wait
FLUSH_EVERY_S = 1.0

RECORDED = Counter("identity_pii_reads_audited_total",
                   "Reads of personal data in the clear written to the audit log")
DROPPED = Counter("identity_pii_audit_dropped_total",
                  "Reads of personal data in the clear whose audit entry was dropped: the "
                  "buffer was full (the store too slow or away)")
WAITING = Gauge("identity_pii_audit_buffered", "Audit entries of PII reads not yet written")


class _Reads:
    """The reads of one caller of one set of profiles since the last flush."""

    def __init__(self, first: datetime) -> None:
        self.first = self.last = first
        self.count = 0
        self.fields: set[str] = set()

    def add(self, at: datetime, fields: Iterable[str]) -> None:
        self.last = max(self.last, at)
        self.count += 1
        self.fields.update(fields)

    def merge(self, other: _Reads) -> None:
        self.first, self.last = min(self.first, other.first), max(self.last, other.last)
        self.count += other.count
        self.fields |= other.fields

    def entry(self, subject: str, profile_ids: tuple[ProfileId, ...]) -> AuditEntry:
        return AuditEntry(new_action_id(), READ_PII, subject, self.first, READ_REASON,
                          profile_ids, "{}", json.dumps({
                              "fields": sorted(self.fields), "reads": self.count,
                              "last_at": self.last.isoformat()}))


class PiiReadAudit:
    """One per service. `record` never waits; `run` (started by the composition root's
    lifespan, app.py) writes what was recorded; `close` stops it and writes the rest."""

    def __init__(self, store: GraphStore, clock: Callable[[], datetime], *,
                 capacity: int = CAPACITY, flush_at: int = FLUSH_AT,
                 flush_every_s: float = FLUSH_EVERY_S) -> None:
        self._store = store
        self._clock = clock
        self._capacity = capacity
        self._flush_at = flush_at
        self._every = flush_every_s
        # (subject, profile ids) -> the reads since the last flush, oldest first
        self._buffer: OrderedDict[tuple[str, tuple[ProfileId, ...]], _Reads] = OrderedDict()
        self._wake = asyncio.Event()
        self._overflowing = False
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._lock = asyncio.Lock()

    def record(self, subject: str, profile_ids: Iterable[ProfileId],
               fields: Iterable[str]) -> None:
        """`subject` was shown `fields` (field names and identifier kinds, never values) of
        `profile_ids` in the clear, now."""
        key = (subject, tuple(sorted(set(profile_ids))))
        now = self._clock()
        if (reads := self._buffer.get(key)) is not None:
            reads.add(now, fields)
            return
        if len(self._buffer) >= self._capacity:
            DROPPED.inc()
            if not self._overflowing:
                self._overflowing = True
                log.warning("PII read audit buffer full (%d entries): reads of personal data "
                            "go unaudited until the store takes the backlog", self._capacity)
            return
        self._buffer[key] = _Reads(now)
        self._buffer[key].add(now, fields)
        WAITING.set(len(self._buffer))
        if len(self._buffer) >= self._flush_at:
            self._wake.set()

    @property
    def waiting(self) -> int:
        return len(self._buffer)

    def start(self) -> None:
        """The flushing task, on the running loop; idempotent."""
        if self._task is None or self._task.done():
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="pii-read-audit")

    async def _run(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._every)
            self._wake.clear()
            await self.flush()

    async def flush(self) -> int:
        """Writes every entry waiting, in one transaction; how many. A failure is logged by
        its type (an error's text could quote data) and the entries wait for the next."""
        async with self._lock:
            taken = list(self._buffer.items())
            self._buffer.clear()
            if not taken:
                return 0
            try:
                async with self._store.transaction() as tx:
                    await tx.audit.append_entries([reads.entry(subject, profile_ids)
                                                   for (subject, profile_ids), reads in taken])
            except Exception as exc:  # the store away: keep them for the next flush
                room = self._capacity - len(self._buffer)
                kept = dict(taken[:max(0, room)])
                for key, reads in self._buffer.items():  # recorded meanwhile: merged in
                    if key in kept:
                        kept[key].merge(reads)
                    else:
                        kept[key] = reads
                self._buffer = OrderedDict(kept)
                DROPPED.inc(max(0, len(taken) - room))
                WAITING.set(len(self._buffer))
                log.warning("PII read audit: %d entries not written (%s), kept for the next "
                            "flush", len(taken), type(exc).__name__)
                return 0
            RECORDED.inc(len(taken))
            WAITING.set(len(self._buffer))
            self._overflowing = False
            return len(taken)

    async def close(self) -> None:
        """Stops the task and writes what is left (shutdown, before the store closes)."""
        if self._task is not None:  # woken, it ends after the flush in hand, never inside it
            self._stopping = True
            self._wake.set()
            await self._task
            self._task = None
        await self.flush()
