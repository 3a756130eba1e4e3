"""Applies the numbered migrations of `graph_schema/` to Neo4j, each at most once."""

from __future__ import annotations

import asyncio
import importlib.resources
import random
import re
import time
from dataclasses import dataclass

from neo4j import AsyncDriver
from neo4j.exceptions import Neo4jError, TransientError

_MIGRATION_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.cypher$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


def migrations() -> list[Migration]:
    found: list[Migration] = []
    for entry in importlib.resources.files("graph_schema").iterdir():
        match = _MIGRATION_FILE.match(entry.name)
        if match is None:
            continue
        text = "\n".join(line for line in entry.read_text(encoding="utf-8").splitlines()
                         if not line.lstrip().startswith("//"))
        statements = tuple(s.strip() for s in text.split(";") if s.strip())
        found.append(Migration(int(match[1]), match[2], statements))
    return sorted(found, key=lambda m: m.version)


MIGRATION_ATTEMPTS = 10
# Another replica created the same index or constraint a moment earlier, despite IF NOT
# EXISTS (the check and the creation are not atomic across transactions): run again.
_MADE_ELSEWHERE = frozenset({
    "Neo.ClientError.Schema.EquivalentSchemaRuleAlreadyExists",
    "Neo.ClientError.Schema.IndexAlreadyExists",
    "Neo.ClientError.Schema.ConstraintAlreadyExists",
})


async def migrate(driver: AsyncDriver, database: str) -> int:
    """Returns the schema version now in force. Replicas starting together on a new
    database run the same statements at once: they may deadlock on the schema's locks, or
    find an index another has just made. Every statement can run again harmlessly, so
    either means try again."""
    for attempt in range(1, MIGRATION_ATTEMPTS + 1):
        try:
            return await _migrate_once(driver, database)
        except Neo4jError as error:
            again = isinstance(error, TransientError) or error.code in _MADE_ELSEWHERE
            if not again or attempt == MIGRATION_ATTEMPTS:
                raise
            await asyncio.sleep(random.uniform(0.05, 0.25) * attempt)
    raise AssertionError("unreachable")


async def _migrate_once(driver: AsyncDriver, database: str) -> int:
    """Schema statements run in auto-commit transactions of their own, as Neo4j requires;
    IF NOT EXISTS makes reruns harmless."""
    async with driver.session(database=database) as session:
        result = await session.run("MATCH (m:SchemaMigration) RETURN m.version AS version")
        applied = {record["version"] async for record in result}
        for migration in migrations():
            if migration.version in applied:
                continue
            for statement in migration.statements:
                await (await session.run(statement)).consume()
            await (await session.run(
                "MERGE (m:SchemaMigration {version: $version})"
                " SET m.name = $name, m.applied_at = $at",
                version=migration.version, name=migration.name, at=time.time(),
            )).consume()
            applied.add(migration.version)
    return max(applied, default=0)
