"""Store adapters behind the GraphStore protocol; open_store is the only code that picks one."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from identity.store.errors import StoreUnavailable
from identity.store.protocol import GraphStore, GraphTransaction
from identity.store.sqlite import SqliteGraphStore

__all__ = ["STORE_KINDS", "GraphStore", "GraphTransaction", "StoreConfig", "open_store"]

STORE_KINDS = ("sqlite", "neo4j")


@dataclass(frozen=True)
class StoreConfig:
    kind: str = "sqlite"
    sqlite_path: str = "data/identity.db"
    neo4j_uri: str = "neo4j://127.0.0.1:7687"
    neo4j_user: str = "neo4j"
    neo4j_password: str | None = field(default=None, repr=False)  # never in logs or tracebacks
    neo4j_database: str = "neo4j"

    @property
    def sqlite_file(self) -> Path:
        """The SQLite file `sqlite_path` names (`sqlite:PATH` or a plain path)."""
        return Path(self.sqlite_path.removeprefix("sqlite:"))


async def open_store(config: StoreConfig) -> GraphStore:
    """Raises StoreUnavailable with the reason when the store cannot be used."""
    if config.kind == "sqlite":
        return SqliteGraphStore(str(config.sqlite_file))
    if config.kind == "neo4j":
        from identity.store.neo4j import Neo4jGraphStore

        if not config.neo4j_password:
            raise StoreUnavailable("the Neo4j store needs a password: set "
                                   "IDENTITY_NEO4J_PASSWORD or --neo4j-password")
        return await Neo4jGraphStore.connect(config.neo4j_uri, config.neo4j_user,
                                             config.neo4j_password, config.neo4j_database)
    raise StoreUnavailable(f"unknown store {config.kind!r}: expected one of "
                           f"{', '.join(STORE_KINDS)}")
