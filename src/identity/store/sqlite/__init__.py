"""The SQLite store adapter: one module per store role (events, graph, matches, changes),
the transaction that holds them, and the store (store.py)."""

from __future__ import annotations

from identity.store.sqlite.store import SqliteGraphStore, SqliteTransaction

__all__ = ["SqliteGraphStore", "SqliteTransaction"]
