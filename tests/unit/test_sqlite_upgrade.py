"""A graph written by the previous release opens, upgraded, with nothing lost."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from identity.store.sqlite import SqliteGraphStore
from identity.store.sqlite.schema import SCHEMA_VERSION
from tests.sqlite_files import old_release_file

ONE_EMAIL = "INSERT INTO nodes (kind, value, first_seen, last_seen) VALUES ('email', 'a@b.c', 1, 1)"


def upgraded(path: Path) -> sqlite3.Connection:
    """Open the file with the store (which upgrades it), then hand back a raw connection."""
    asyncio.run(SqliteGraphStore(str(path)).close())
    return sqlite3.connect(path)


def columns(connection: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in connection.execute(f"PRAGMA table_info({table})")]


def test_a_version_1_file_gains_the_link_details_column(tmp_path: Path) -> None:
    # links as release 1 had them: no details column
    path = old_release_file(tmp_path / "old.db", 1, statements=(ONE_EMAIL,))

    connection = upgraded(path)
    version = connection.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    assert "details" in columns(connection, "links") and version == (str(SCHEMA_VERSION),)
    assert connection.execute("SELECT count(*) FROM nodes").fetchone() == (1,)
    connection.close()
    asyncio.run(SqliteGraphStore(str(path)).close())  # and opens again, already upgraded


def test_a_version_3_file_gains_the_held_mark_of_nodes(tmp_path: Path) -> None:
    path = old_release_file(tmp_path / "v3.db", 3, statements=(ONE_EMAIL,))

    connection = upgraded(path)
    assert "held" in columns(connection, "nodes")
    assert connection.execute("SELECT held FROM nodes").fetchall() == [(None,)]
    connection.close()


def test_a_sqlite_database_named_with_its_scheme_is_the_same_file() -> None:
    """`identity train` looked for `sqlite:data/g.db` on disk, found no graph, and saved the
    fitted model unjudged."""
    from identity.store import StoreConfig

    assert StoreConfig(sqlite_path="sqlite:data/g.db").sqlite_file == Path("data/g.db")
    assert StoreConfig(sqlite_path="data/g.db").sqlite_file == Path("data/g.db")


POSSIBLE_MATCH = (
    "INSERT INTO nodes (kind, value, first_seen, last_seen) VALUES ('anonymous_id', 'c2', 1, 1)",
    "INSERT INTO links (a_node, b_node, rule, is_active, inactive_reason, score, first_seen,"
    " last_seen) VALUES (1, 2, 'possible_match', 0, 'possible match', 0.7, 5, 5)",
    "INSERT INTO link_events (link_id, event_id, source) VALUES (1, 'e-1', 'crm')",
)


def test_a_version_4_file_gains_the_audit_log_versions_and_a_queue_of_its_matches(
        tmp_path: Path) -> None:
    """The possible matches stored before the queue existed are waiting in it after."""
    path = old_release_file(tmp_path / "v4.db", 4, statements=(ONE_EMAIL, *POSSIBLE_MATCH))

    connection = upgraded(path)
    tables = {row[0] for row in connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"audit_entries", "audit_mentions", "profile_versions", "review_items"} <= tables
    queued = connection.execute("SELECT score, source, outcome FROM review_items").fetchall()
    assert queued == [(0.7, "crm", None)]
    connection.close()
