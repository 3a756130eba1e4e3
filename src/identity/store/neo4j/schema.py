"""Applies the numbered migrations of `graph_schema/` to Neo4j, each at most once."""

from __future__ import annotations

import importlib.resources
import re
import time
from dataclasses import dataclass

from neo4j import AsyncDriver

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


async def migrate(driver: AsyncDriver, database: str) -> int:
    """Returns the schema version now in force. Schema statements run in auto-commit
    transactions of their own, as Neo4j requires; IF NOT EXISTS makes reruns harmless."""
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
