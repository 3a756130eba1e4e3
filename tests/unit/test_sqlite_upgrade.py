"""A graph written by the previous release opens, upgraded, with nothing lost."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from identity.store.sqlite import SqliteGraphStore
from identity.store.sqlite_schema import SCHEMA_VERSION
from tests.sqlite_files import old_release_file


def test_a_version_1_file_gains_the_link_details_column(tmp_path: Path) -> None:
    # links as release 1 had them: no details column
    path = old_release_file(tmp_path / "old.db", 1, statements=(
        "INSERT INTO nodes (kind, value, first_seen, last_seen) VALUES ('email', 'a@b.c', 1, 1)",
    ))

    asyncio.run(SqliteGraphStore(str(path)).close())  # opening upgrades

    upgraded = sqlite3.connect(path)
    columns = [row[1] for row in upgraded.execute("PRAGMA table_info(links)")]
    version = upgraded.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    assert "details" in columns and version == (str(SCHEMA_VERSION),)
    assert upgraded.execute("SELECT count(*) FROM nodes").fetchone() == (1,)
    upgraded.close()
    asyncio.run(SqliteGraphStore(str(path)).close())  # and opens again, already upgraded


def test_a_version_3_file_gains_the_held_mark_of_nodes(tmp_path: Path) -> None:
    path = old_release_file(tmp_path / "v3.db", 3, statements=(
        "INSERT INTO nodes (kind, value, first_seen, last_seen) VALUES ('email', 'a@b.c', 1, 1)",
    ))

    asyncio.run(SqliteGraphStore(str(path)).close())  # opening upgrades

    upgraded = sqlite3.connect(path)
    columns = [row[1] for row in upgraded.execute("PRAGMA table_info(nodes)")]
    assert "held" in columns
    assert upgraded.execute("SELECT held FROM nodes").fetchall() == [(None,)]
    upgraded.close()
