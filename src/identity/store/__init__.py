"""Store adapters behind the GraphStore protocol; open_store is the only code that picks one."""

from __future__ import annotations

from identity.store.protocol import GraphStore, GraphTransaction, StoreUnavailable
from identity.store.sqlite import SqliteGraphStore

__all__ = ["GraphStore", "GraphTransaction", "StoreUnavailable", "open_store"]

SQLITE_PREFIX = "sqlite:"


def open_store(url: str) -> GraphStore:
    """`sqlite:PATH`, `sqlite::memory:` or a bare file path."""
    if "://" in url and not url.startswith(SQLITE_PREFIX):
        scheme = url.split("://", 1)[0]
        raise StoreUnavailable(
            f"unsupported store URL scheme {scheme!r}: this release stores in SQLite "
            "(use sqlite:PATH or a file path)"
        )
    path = url.removeprefix(SQLITE_PREFIX).removeprefix("//")
    return SqliteGraphStore(path or "identity.db")
