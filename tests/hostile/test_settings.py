"""The hostile-input bounds are settings: read from the environment, checked, and in force
where `identity serve` builds the service."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from identity.api.limits import MAX_IDENTIFIERS_PER_REQUEST, check_batch
from identity.config import Settings
from identity.domain.errors import ValidationError
from tests.api.conftest import ServerThread


@pytest.mark.parametrize(("raw", "seconds"), [("300", 300), ("90s", 90), ("5m", 300),
                                              ("2h", 7200), (" 10M ", 600)])
def test_the_clock_skew_is_read_in_seconds_or_with_a_unit(raw: str, seconds: int) -> None:
    assert Settings.from_env({"IDENTITY_MAX_CLOCK_SKEW": raw}).max_clock_skew_s == seconds
    assert Settings.from_env({}).max_clock_skew_s == 300


@pytest.mark.parametrize(("name", "raw", "says"), [
    ("IDENTITY_MAX_CLOCK_SKEW", "5 minutes", "must be whole seconds or a number with s, m or h"),
    ("IDENTITY_MAX_CLOCK_SKEW", "-5", "must be whole seconds"),
    ("IDENTITY_MAX_BODY_BYTES", "0", "IDENTITY_MAX_BODY_BYTES must be at least 1"),
    ("IDENTITY_MAX_BODY_BYTES", "1MB", "IDENTITY_MAX_BODY_BYTES must be an integer"),
    ("IDENTITY_MAX_WATCH_STREAMS", "-1", "IDENTITY_MAX_WATCH_STREAMS must be at least 1"),
    ("IDENTITY_LOG_LEVEL", "loud", "IDENTITY_LOG_LEVEL must be one of critical, error"),
])
def test_a_bad_bound_names_its_variable(name: str, raw: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        Settings.from_env({name: raw})


def test_the_served_app_uses_the_configured_body_limit_and_skew(tmp_path: Path) -> None:
    folder = tmp_path
    settings = Settings(database=str(folder / "g.db"), model=str(folder / "m.json"),
                        rules=str(folder / "r.toml"), grpc_port=None, max_body_bytes=2_000,
                        dev_mode=True,
                        max_clock_skew_s=int(timedelta(days=400).total_seconds()))
    with ServerThread(settings) as url, httpx.Client(base_url=url) as http:
        assert http.post("/graphql", content=b" " * 2_001).status_code == 413
        beyond = f"{datetime.now(UTC) + timedelta(days=401):%Y-%m-%dT%H:%M:%SZ}"  # beyond 400
        response = http.post("/graphql", json={"query": f"""mutation {{
            ingestEvents(events: [{{eventId: "s-1", type: "identify", source: "web",
              timestamp: "{beyond}", identifiers: [{{kind: "customer_id", value: "C-1"}}]}}])
            {{ rejected results {{ errors {{ field reason }} }} }} }}"""})
        body = response.json()["data"]["ingestEvents"]
        assert body["rejected"] == 1
        (error,) = body["results"][0]["errors"]
        assert error["field"] == "timestamp"
        assert "ahead of the clock of the server" in error["reason"], error
        assert "at most 400 days is allowed" in error["reason"], error  # the configured bound
        far = f"{datetime.now(UTC) + timedelta(days=100):%Y-%m-%dT%H:%M:%SZ}"  # within 400
        response = http.post("/graphql", json={"query": f"""mutation {{
            ingestEvents(events: [{{eventId: "s-2", type: "identify", source: "web",
              timestamp: "{far}", identifiers: [{{kind: "customer_id", value: "C-2"}}]}}])
            {{ accepted results {{ warnings {{ field }} }} }} }}"""})
        body = response.json()["data"]["ingestEvents"]
        assert body["accepted"] == 1 and body["results"][0]["warnings"] == [{"field": "timestamp"}]


def test_a_request_may_hold_up_to_the_identifier_bound_and_not_one_more() -> None:
    check_batch(1000, MAX_IDENTIFIERS_PER_REQUEST)
    with pytest.raises(ValidationError, match="at most 5000 identifiers"):
        check_batch(1000, MAX_IDENTIFIERS_PER_REQUEST + 1)
    with pytest.raises(ValidationError, match="at most 1000 per request, got 1001"):
        check_batch(1001, 0)



def test_the_settings_defaults_are_the_defaults_of_what_they_configure() -> None:
    """Read from what each bound configures (the body limit, the app, the gRPC server),
    wherever its constant is defined."""
    from identity.api.graphql.http import create_app
    from identity.api.graphql.middleware import BodyLimit
    from identity.api.grpc.server import start_server
    from identity.domain.events import MAX_CLOCK_SKEW

    def default(configured: Callable[..., object], parameter: str) -> object:
        return inspect.signature(configured).parameters[parameter].default

    defaults = Settings()
    assert defaults.max_body_bytes == default(BodyLimit, "max_bytes") == default(
        create_app, "max_body_bytes")
    assert defaults.max_watch_streams == default(start_server, "max_watch_streams")
    assert defaults.max_clock_skew_s == MAX_CLOCK_SKEW.total_seconds()


@pytest.mark.parametrize("raw", ["0", "9999999999h", "400d", "366d"])
def test_a_clock_skew_beyond_a_year_or_without_a_unit_we_know_is_refused(raw: str) -> None:
    if raw == "0":
        assert Settings.from_env({"IDENTITY_MAX_CLOCK_SKEW": raw}).max_clock_skew_s == 0
        return
    with pytest.raises(ValueError, match="IDENTITY_MAX_CLOCK_SKEW must be whole seconds"):
        Settings.from_env({"IDENTITY_MAX_CLOCK_SKEW": raw})
