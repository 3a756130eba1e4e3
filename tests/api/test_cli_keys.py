"""`identity keys create | list | revoke`: a key printed once, listed without its secret,
refused once revoked; bad scopes and unknown ids are clear errors."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from identity import cli
from identity.domain.access import Scope, Unauthenticated
from identity.service.api_keys import ApiKeys
from identity.store.sqlite import SqliteGraphStore


def verify(database: Path, key: str) -> frozenset[Scope]:
    async def run() -> frozenset[Scope]:
        store = SqliteGraphStore(str(database))
        try:
            principal, _ = await ApiKeys(store).verify(key)
            return principal.scopes
        finally:
            await store.close()
    return asyncio.run(run())


def test_a_key_is_created_listed_and_revoked(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    database = tmp_path / "g.db"
    assert cli.main(["keys", "create", "--name", "crm sync", "--scopes",
                     "profile:read,ingest", "--rate", "20", "--database", str(database)]) == 0
    out, err = capsys.readouterr()
    key = out.strip()
    assert key.startswith("idk_") and "shown once" in err
    assert verify(database, key) == {Scope.PROFILE_READ, Scope.INGEST}

    assert cli.main(["keys", "list", "--database", str(database)]) == 0
    out, _ = capsys.readouterr()
    (listed,) = [json.loads(line) for line in out.splitlines()]
    assert listed["name"] == "crm sync" and listed["scopes"] == ["ingest", "profile:read"]
    assert listed["rate_per_s"] == 20 and listed["revoked_at"] is None
    assert key.split("_")[2] not in out  # the secret is never listed

    assert cli.main(["keys", "revoke", listed["key_id"], "--database", str(database)]) == 0
    with pytest.raises(Unauthenticated, match="revoked"):
        verify(database, key)


@pytest.mark.parametrize(("argv", "says"), [
    (["create", "--name", "x", "--scopes", "profile:write"], "'profile:write' is not a scope"),
    (["create", "--name", "x", "--scopes", ""], "at least one scope"),
    (["create", "--name", " ", "--scopes", "admin"], "a key's name is 1 to 100"),
    (["create", "--name", "x", "--scopes", "admin", "--rate", "0"], "above 0"),
    (["revoke", "nosuchkey"], "no key 'nosuchkey'"),
    # Hostile arguments: a non-UTF-8 byte reaches argv as a lone surrogate.
    (["create", "--name", "a\x01b", "--scopes", "admin"], "a key's name is 1 to 100"),
    (["create", "--name", "\udcff", "--scopes", "admin"], "a key's name is 1 to 100"),
    (["create", "--name", "a" * 100_000, "--scopes", "admin"], "a key's name is 1 to 100"),
    (["create", "--name", "x", "--scopes", "admin\udcff"], "is not a scope"),
    (["revoke", "\udcff"], "no key '\\udcff'"),
    (["revoke", "abc\x1b[31mdefg"], "no key 'abc\\x1b[31mdefg'"),
])
def test_bad_arguments_are_clear_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        argv: list[str], says: str) -> None:
    assert cli.main(["keys", *argv, "--database", str(tmp_path / "g.db")]) == 2
    assert says in capsys.readouterr().err


@pytest.mark.parametrize("rate", ["5e-324", "1e-300", "nan", "1e400", "-1", "1_000"])
def test_a_rate_is_read_as_the_rate_limit_setting_is(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], rate: str) -> None:
    with pytest.raises(SystemExit) as usage:
        cli.main(["keys", "create", "--name", "x", "--scopes", "admin", "--rate", rate,
                  "--database", str(tmp_path / "g.db")])
    assert usage.value.code == 2
    assert "--rate: the rate must be requests per second from 0 (off) to 1,000,000" \
        in capsys.readouterr().err


@pytest.mark.parametrize("rate", [0.0, 5e-324, 1e-300, float("nan"), float("inf"), 1e400])
def test_the_service_refuses_a_rate_no_limiter_can_wait_for(rate: float) -> None:
    """Beside the CLI's parsing: a rate that reaches issue() another way is refused there."""
    async def run() -> None:
        store = SqliteGraphStore(":memory:")
        try:
            with pytest.raises(ValueError, match="above 0"):
                await ApiKeys(store).issue("x", frozenset({Scope.ADMIN}), rate)
        finally:
            await store.close()
    asyncio.run(run())
