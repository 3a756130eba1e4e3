"""The Neo4j store adapter: one module per store role (events, graph, matches, changes),
the transaction that holds them, and the store (store.py)."""

from __future__ import annotations

from identity.store.neo4j.store import Neo4jGraphStore, Neo4jTransaction

__all__ = ["Neo4jGraphStore", "Neo4jTransaction"]
