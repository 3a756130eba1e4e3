"""SQLite graph files as an earlier release wrote them, for the upgrade-on-open tests."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from identity.store.sqlite_schema import SCHEMA


def old_release_file(path: Path, version: int, *, without: str,
                     statements: tuple[str, ...] = ()) -> Path:
    """A file at schema `version`: today's schema less the text `without` (what that release
    lacked), its version recorded in meta, then `statements` run on it."""
    if without not in SCHEMA:
        raise ValueError(f"today's schema has no {without!r} to leave out")
    old = sqlite3.connect(path)
    try:
        old.executescript(SCHEMA.replace(without, ""))
        old.execute("INSERT INTO meta (key, value) VALUES ('schema_version', ?)", (str(version),))
        for statement in statements:
            old.execute(statement)
        old.commit()
    finally:
        old.close()
    return path
