"""What the service writes to disk is its owner's alone: the graph holds every customer's
emails and phones."""

from __future__ import annotations

import stat
from pathlib import Path

from identity.store.sqlite import SqliteGraphStore


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_a_new_database_its_journal_and_its_folder_are_private(tmp_path: Path) -> None:
    path = tmp_path / "data" / "graph.db"
    store = SqliteGraphStore(str(path))  # its schema is written: the journal exists
    try:
        files = [path, path.with_name("graph.db-wal"), path.with_name("graph.db-shm")]
        assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}
        assert mode(path.parent) == 0o700
    finally:
        await store.close()


async def test_an_existing_database_keeps_the_mode_its_operator_gave_it(tmp_path: Path) -> None:
    path = tmp_path / "graph.db"
    await _closed(SqliteGraphStore(str(path)))
    path.chmod(0o640)
    await _closed(SqliteGraphStore(str(path)))
    assert mode(path) == 0o640


async def _closed(store: SqliteGraphStore) -> None:
    await store.close()
