"""Retrying work that lost a race to a concurrent transaction."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from prometheus_client import Counter

from identity.store.errors import StoreConflict

T = TypeVar("T")

CONFLICTS = Counter("identity_store_conflicts_total", "Transactions retried after a conflict")
MAX_ATTEMPTS = 20
MAX_BACKOFF_S = 0.5


async def retry_on_conflict(work: Callable[[], Awaitable[T]]) -> T:
    """Runs `work` (one whole transaction) again after a StoreConflict, with jittered
    exponential back-off, so two batches that deadlocked do not collide again in step."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return await work()
        except StoreConflict:
            if attempt == MAX_ATTEMPTS:
                raise
            CONFLICTS.inc()
            await asyncio.sleep(random.uniform(0, min(MAX_BACKOFF_S, 0.005 * 2**attempt)))
    raise AssertionError("unreachable")
