"""The per-key token bucket (api/auth/rate_limit.py) on a clock the test moves, and through an
Authenticator given a limiter."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from identity.api.auth.authenticator import Authenticator
from identity.api.auth.rate_limit import RateLimiter, retry_after_header
from identity.domain.access import DEVELOPMENT, Principal, RateLimited, Scope


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def key(subject: str, rate_per_s: float | None = None) -> Principal:
    return Principal(subject, frozenset({Scope.PROFILE_READ}), "api_key", rate_per_s)


def admitted(limiter: RateLimiter, principal: Principal, times: int) -> int:
    count = 0
    for _ in range(times):
        try:
            limiter.admit(principal)
            count += 1
        except RateLimited:
            pass
    return count


def test_a_key_gets_its_burst_then_waits_for_the_next_token() -> None:
    clock = Clock()
    limiter = RateLimiter(2.0, 5, clock=clock)
    assert admitted(limiter, key("key:a"), 5) == 5
    with pytest.raises(RateLimited) as refused:
        limiter.admit(key("key:a"))
    assert refused.value.retry_after_s == pytest.approx(0.5)  # one token at 2 per second
    assert "too many requests for this key" in str(refused.value)
    clock.now += 0.25  # half a token: still refused, sooner
    with pytest.raises(RateLimited) as again:
        limiter.admit(key("key:a"))
    assert again.value.retry_after_s == pytest.approx(0.25)
    clock.now += 0.25
    limiter.admit(key("key:a"))


def test_keys_have_buckets_of_their_own() -> None:
    limiter = RateLimiter(1.0, 2, clock=Clock())
    assert admitted(limiter, key("key:a"), 10) == 2
    assert admitted(limiter, key("key:b"), 10) == 2


def test_a_key_with_its_own_rate_is_held_to_it_even_when_the_default_is_off() -> None:
    clock = Clock()
    limiter = RateLimiter(0, 1, clock=clock)
    assert admitted(limiter, key("key:free"), 1_000) == 1_000  # 0: no default limit
    assert admitted(limiter, key("key:slow", rate_per_s=0.5), 3) == 1
    with pytest.raises(RateLimited) as refused:
        limiter.admit(key("key:slow", rate_per_s=0.5))
    assert refused.value.retry_after_s == pytest.approx(2.0)
    clock.now += 2.0
    limiter.admit(key("key:slow", rate_per_s=0.5))
    fast = RateLimiter(1.0, 1, clock=clock)
    clock.now += 1.0
    assert admitted(fast, key("key:fast", rate_per_s=1_000), 1) == 1
    clock.now += 0.01  # ten tokens at its own rate, one at the default: the burst caps it
    assert admitted(fast, key("key:fast", rate_per_s=1_000), 3) == 1


def test_idle_buckets_are_forgotten_and_memory_is_bounded() -> None:
    clock = Clock()
    limiter = RateLimiter(10.0, 10, max_subjects=50, clock=clock)
    for n in range(20):
        limiter.admit(key(f"key:{n}"))
    assert len(limiter) == 20
    clock.now += 0.2  # refilled: the same as never seen
    limiter.admit(key("key:late"))
    assert len(limiter) == 1
    for n in range(1_000):  # a thousand callers at once: the fifty last seen are kept
        limiter.admit(key(f"key:many-{n}"))
    assert len(limiter) == 50


def test_a_refused_request_takes_no_token() -> None:
    clock = Clock()
    limiter = RateLimiter(1.0, 1, clock=clock)
    limiter.admit(key("key:a"))
    for _ in range(100):
        with pytest.raises(RateLimited):
            limiter.admit(key("key:a"))
    clock.now += 1.0
    limiter.admit(key("key:a"))  # the refusals did not dig a deeper hole


@settings(max_examples=200, deadline=None)
@given(rate=st.floats(0.1, 1_000), burst=st.integers(1, 50),
       gaps=st.lists(st.floats(0, 2), min_size=1, max_size=200))
def test_no_key_gets_more_than_its_burst_and_its_rate_over_any_run(
        rate: float, burst: int, gaps: list[float]) -> None:
    clock = Clock()
    limiter = RateLimiter(rate, burst, max_subjects=1, clock=clock)
    start, count = clock.now, 0
    for gap in gaps:
        clock.now += gap
        count += admitted(limiter, key("key:a"), 1)
    assert count <= burst + rate * (clock.now - start) + 1e-6


@pytest.mark.parametrize(("seconds", "header"), [
    (0.001, "1"), (0.5, "1"), (1.0, "1"), (1.01, "2"), (59.2, "60")])
def test_retry_after_is_whole_seconds_rounded_up(seconds: float, header: str) -> None:
    assert retry_after_header(seconds) == header


@pytest.mark.parametrize("arguments", [
    {"rate_per_s": -1.0}, {"rate_per_s": float("nan")}, {"rate_per_s": float("inf")},
    {"burst": 0}, {"max_subjects": 0}])
def test_bounds_that_cannot_work_are_refused(arguments: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=r"rate|burst"):
        RateLimiter(**arguments)  # type: ignore[arg-type]


async def test_the_authenticator_checks_the_rate_after_the_caller_is_known() -> None:
    clock = Clock()
    limited = Authenticator(development=True, limiter=RateLimiter(1.0, 2, clock=clock))
    assert await limited.authenticate(None) is DEVELOPMENT
    await limited.authenticate(None)
    with pytest.raises(RateLimited):
        await limited.authenticate(None)
    unlimited = Authenticator(development=True)  # development mode, not asked: no limit
    for _ in range(1_000):
        await unlimited.authenticate(None)
