"""The abuse-limit settings: IDENTITY_RATE_LIMIT, _RATE_BURST, _GRAPHQL_MAX_COST and
_GRAPHQL_INTROSPECTION, from the environment and flags, and the limiter they make."""

from __future__ import annotations

import pytest

from identity.api.auth.rate_limit import DEFAULT_BURST, DEFAULT_RATE_PER_S
from identity.cli.arguments import parser, settings_of
from identity.cli.serve import limits_line
from identity.config import Settings


def test_the_defaults_limit_keys_and_serve_introspection() -> None:
    settings = Settings.from_env({})
    assert (settings.rate_limit, settings.rate_burst, settings.graphql_max_cost,
            settings.graphql_introspection) == (None, DEFAULT_BURST, 5_000, True)
    limiter = settings.rate_limiter()
    assert limiter is not None
    assert (limiter.rate_per_s, limiter.burst) == (DEFAULT_RATE_PER_S, DEFAULT_BURST)


def test_development_mode_is_limited_only_when_asked() -> None:
    assert Settings.from_env({"IDENTITY_DEV_MODE": "on"}).rate_limiter() is None
    asked = Settings.from_env({"IDENTITY_DEV_MODE": "on", "IDENTITY_RATE_LIMIT": "5"})
    limiter = asked.rate_limiter()
    assert limiter is not None and limiter.rate_per_s == 5.0


def test_the_environment_sets_each() -> None:
    settings = Settings.from_env({"IDENTITY_RATE_LIMIT": "0.5", "IDENTITY_RATE_BURST": "10",
                                  "IDENTITY_GRAPHQL_MAX_COST": "900",
                                  "IDENTITY_GRAPHQL_INTROSPECTION": "off"})
    assert (settings.rate_limit, settings.rate_burst, settings.graphql_max_cost,
            settings.graphql_introspection) == (0.5, 10, 900, False)
    off = Settings.from_env({"IDENTITY_RATE_LIMIT": "0"}).rate_limiter()
    assert off is not None and off.rate_per_s == 0  # keys with their own rate still held


@pytest.mark.parametrize(("name", "value", "says"), [
    ("IDENTITY_RATE_LIMIT", "-1", "IDENTITY_RATE_LIMIT must be requests per second"),
    ("IDENTITY_RATE_LIMIT", "1e9", "IDENTITY_RATE_LIMIT must be requests per second"),
    ("IDENTITY_RATE_LIMIT", "nan", "IDENTITY_RATE_LIMIT must be requests per second"),
    ("IDENTITY_RATE_LIMIT", "٣", "IDENTITY_RATE_LIMIT must be requests per second"),
    ("IDENTITY_RATE_LIMIT", "2000000", "IDENTITY_RATE_LIMIT must be requests per second"),
    ("IDENTITY_RATE_BURST", "0", "IDENTITY_RATE_BURST must be at least 1"),
    ("IDENTITY_GRAPHQL_MAX_COST", "0", "IDENTITY_GRAPHQL_MAX_COST must be at least 1"),
    ("IDENTITY_GRAPHQL_INTROSPECTION", "maybe", "must be on or off, got 'maybe'"),
    # Hostile: a non-UTF-8 byte in the environment is a lone surrogate; a huge number.
    ("IDENTITY_GRAPHQL_INTROSPECTION", "\udcff", r"must be on or off, got '\\udcff'"),
    ("IDENTITY_RATE_BURST", "9" * 5_000, "IDENTITY_RATE_BURST must be an integer"),
    ("IDENTITY_RATE_LIMIT", "9" * 5_000, "IDENTITY_RATE_LIMIT must be requests per second"),
    ("IDENTITY_ERASURE_KEY", "\udcff" * 20, "IDENTITY_ERASURE_KEY is not UTF-8 text"),
])
def test_a_bad_value_names_its_setting(name: str, value: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        Settings.from_env({name: value})


def test_flags_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDENTITY_RATE_LIMIT", "7")
    args = parser().parse_args(["serve", "--rate-limit", "2.5", "--rate-burst", "4",
                                "--graphql-max-cost", "50", "--no-introspection"])
    settings = settings_of(args)
    assert (settings.rate_limit, settings.rate_burst, settings.graphql_max_cost,
            settings.graphql_introspection) == (2.5, 4, 50, False)
    assert settings_of(parser().parse_args(["serve"])).rate_limit == 7.0


def test_the_start_banner_says_which_limits_hold() -> None:
    assert limits_line(Settings()) == (
        "rate 100 requests/s per key (bursts of 200) unless the key has its own; a GraphQL "
        "query costs at most 5,000; introspection on (GraphiQL, gRPC reflection)")
    assert limits_line(Settings(dev_mode=True, graphql_introspection=False)) == (
        "rate none (development mode; IDENTITY_RATE_LIMIT sets one); a GraphQL query costs "
        "at most 5,000; introspection off (no GraphiQL, no gRPC reflection)")
