"""Per-key request rates: a token bucket per caller, in bounded memory.

Each caller (a Principal's `subject`: one API key, one token subject) has a bucket holding
up to `burst` requests, refilled at the caller's rate: its key's own `rate_per_s` when the
key has one, else the default. A request takes one token; with none left it is refused with
the time until the next one (RateLimited: 429 / RESOURCE_EXHAUSTED with Retry-After). Every
request is one token, whatever it asks: the cost of a large query is bounded by the query
limits, that of an ingest batch by its size (docs/architecture.md, "Security and privacy").

Memory stays bounded whatever the callers do. Buckets are kept least recently used first; a
bucket idle long enough to have refilled is the same as no bucket, so it is dropped as the
next request passes by; and past `max_subjects` callers the least recently seen is dropped
(it starts again with a full burst: forgetting a debt is the price of the bound, and only
verified callers have buckets, so the count is that of real keys and token subjects).

Buckets live in the process: N replicas behind a balancer let a key through up to N times
its rate. One event loop runs every check, so there is nothing to lock.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from identity.domain.access import Principal, RateLimited

# About a tenth of what one process serves of the cheapest GraphQL reads (README,
# "Benchmarks": 600 to 1,100 req/s on SQLite), so one runaway client leaves room for the
# others; the burst absorbs a client's page of parallel lookups. A client that needs more is
# given a key with its own rate (`identity keys create --rate`).
DEFAULT_RATE_PER_S = 100.0
DEFAULT_BURST = 200
MAX_SUBJECTS = 100_000


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float  # when `tokens` was counted
    rate_per_s: float

    def refilled(self, now: float, burst: float) -> float:
        return min(burst, self.tokens + (now - self.at) * self.rate_per_s)


class RateLimiter:
    """`rate_per_s`: the default rate, for callers whose key has none; 0 leaves them
    unlimited (a key with its own rate is still held to it)."""

    def __init__(self, rate_per_s: float = DEFAULT_RATE_PER_S, burst: int = DEFAULT_BURST, *,
                 max_subjects: int = MAX_SUBJECTS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not (rate_per_s >= 0 and math.isfinite(rate_per_s)):
            raise ValueError(f"a rate is requests per second, 0 or more, got {rate_per_s}")
        if burst < 1 or max_subjects < 1:
            raise ValueError(f"the burst ({burst}) and the callers kept ({max_subjects}) must "
                             "be at least 1")
        self.rate_per_s = rate_per_s
        self.burst = burst
        self.max_subjects = max_subjects
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def __len__(self) -> int:
        """The callers whose buckets are kept."""
        return len(self._buckets)

    def admit(self, principal: Principal) -> None:
        """Takes a token from the caller's bucket. Raises RateLimited with the seconds until
        the next token when there is none."""
        rate = principal.rate_per_s if principal.rate_per_s is not None else self.rate_per_s
        if rate <= 0:
            return
        now = self._clock()
        bucket = self._buckets.pop(principal.subject, None)
        tokens = float(self.burst) if bucket is None else bucket.refilled(now, self.burst)
        if tokens >= 1:
            self._buckets[principal.subject] = _Bucket(tokens - 1, now, rate)
            self._forget(now)
            return
        self._buckets[principal.subject] = _Bucket(tokens, now, rate)
        self._forget(now)
        raise RateLimited((1 - tokens) / rate)

    def _forget(self, now: float) -> None:
        """Drops the buckets least recently used while they have refilled (amortized: each is
        dropped once), then the oldest while there are too many."""
        while self._buckets:
            subject, oldest = next(iter(self._buckets.items()))
            if oldest.refilled(now, self.burst) < self.burst:
                break
            del self._buckets[subject]
        while len(self._buckets) > self.max_subjects:
            self._buckets.popitem(last=False)


def retry_after_header(retry_after_s: float) -> str:
    """Retry-After in whole seconds (RFC 9110 takes no fractions), rounded up so a client
    that waits as told finds a token; at least 1."""
    return str(max(1, math.ceil(retry_after_s)))
