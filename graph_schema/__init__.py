"""Numbered Cypher migrations for the Neo4j store, applied in order at start-up.

Each `NNNN_name.cypher` holds schema statements separated by `;`. They must be idempotent
(`IF NOT EXISTS`), so replicas starting together cannot trip over each other; the version of
each applied file is recorded in the graph as a (:SchemaMigration) node.
"""
