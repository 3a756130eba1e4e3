"""Neo4jGraphStore: the production store, over the official async driver.

Parameters only, never Cypher built from input; every list primitive is one UNWIND query.
Concurrency: upserting an identifier write-locks its node until commit, and a write
transaction locks the groups it reads, so two batches that touch one profile serialize; a
deadlock between them surfaces as StoreConflict and the service retries the whole batch.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

import neo4j
from neo4j import AsyncDriver, AsyncGraphDatabase, AsyncTransaction
from neo4j.exceptions import (
    AuthError,
    ConstraintError,
    DriverError,
    Neo4jError,
    ServiceUnavailable,
    SessionExpired,
    TransientError,
)

from identity.store.errors import StoreConflict, StoreUnavailable
from identity.store.neo4j.audit import Neo4jAuditLog
from identity.store.neo4j.changes import Neo4jChangeLog
from identity.store.neo4j.consent import Neo4jConsentLog
from identity.store.neo4j.erasure import Neo4jErasures
from identity.store.neo4j.events import Neo4jEventLog
from identity.store.neo4j.graph import Neo4jGraph
from identity.store.neo4j.keys import Neo4jApiKeys
from identity.store.neo4j.matches import Neo4jMatchIndex
from identity.store.neo4j.reviews import Neo4jReviewQueue
from identity.store.neo4j.schema import migrate
from identity.store.neo4j.versions import Neo4jProfileVersions
from identity.store.neo4j.views import Neo4jProfileViews


class Neo4jTransaction:
    """One explicit Neo4j transaction: its primitives by role, as the protocol names them."""

    def __init__(self, tx: AsyncTransaction, *, read_only: bool) -> None:
        self.events = Neo4jEventLog(tx, read_only=read_only)
        self.graph = Neo4jGraph(tx, read_only=read_only)
        self.matches = Neo4jMatchIndex(tx, read_only=read_only)
        self.changes = Neo4jChangeLog(tx, read_only=read_only)
        self.audit = Neo4jAuditLog(tx, read_only=read_only)
        self.versions = Neo4jProfileVersions(tx, read_only=read_only)
        self.reviews = Neo4jReviewQueue(tx, read_only=read_only)
        self.views = Neo4jProfileViews(tx, read_only=read_only)
        self.erasure = Neo4jErasures(tx, read_only=read_only)
        self.consents = Neo4jConsentLog(tx, read_only=read_only)
        self.keys = Neo4jApiKeys(tx, read_only=read_only)


_CONFLICTS = (TransientError, ConstraintError)
_UNAVAILABLE = (ServiceUnavailable, SessionExpired, AuthError, OSError)


class Neo4jGraphStore:
    """The GraphStore protocol over one Neo4j database; open it with `connect()`."""

    def __init__(self, driver: AsyncDriver, database: str, uri: str) -> None:
        self._driver = driver
        self._commits = 0
        self._database = database
        self._uri = uri

    @classmethod
    async def connect(cls, uri: str, user: str, password: str,
                      database: str = "neo4j") -> Neo4jGraphStore:
        """Verifies the connection and the credentials, then applies migrations: a
        misconfigured service fails at start-up with the reason, not on its first request."""
        # Notifications off: Neo4j's hints (an unused property, say) are not errors and would
        # flood the log on every query.
        driver = AsyncGraphDatabase.driver(uri, auth=(user, password),
                                           connection_acquisition_timeout=10,
                                           notifications_min_severity="OFF")
        try:
            try:
                await driver.verify_connectivity()
                await migrate(driver, database)
            except AuthError as exc:
                raise StoreUnavailable(
                    f"Neo4j at {uri} refused the credentials of user {user!r}: {exc.message}"
                ) from exc
            except (ServiceUnavailable, OSError, ValueError) as exc:
                raise StoreUnavailable(f"Neo4j at {uri} is unreachable: {exc}") from exc
            except Neo4jError as exc:
                raise StoreUnavailable(f"Neo4j at {uri} ({database}): {exc.message}") from exc
        except BaseException:  # cancelled too (a start given up on): the pool is let go now
            await driver.close()
            raise
        return cls(driver, database, uri)

    @asynccontextmanager
    async def transaction(self, *, read_only: bool = False) -> AsyncIterator[Neo4jTransaction]:
        mode = neo4j.READ_ACCESS if read_only else neo4j.WRITE_ACCESS
        try:
            async with self._driver.session(database=self._database,
                                            default_access_mode=mode) as session:
                tx = await session.begin_transaction()
                try:
                    yield Neo4jTransaction(tx, read_only=read_only)
                except BaseException:
                    if not tx.closed():
                        with suppress(Neo4jError, DriverError):
                            await tx.rollback()
                    raise
                await tx.commit()
                if not read_only:
                    self._commits += 1
        except _CONFLICTS as exc:
            raise StoreConflict(f"Neo4j transaction conflict, safe to retry: {exc}") from exc
        except _UNAVAILABLE as exc:
            raise StoreUnavailable(f"Neo4j at {self._uri}: {exc}") from exc

    def commits(self) -> int:
        return self._commits

    def commits_elsewhere(self) -> int | None:
        """Replicas share the database and nothing says cheaply that one of them wrote:
        None, so nothing is cached across calls."""
        return None

    async def ping(self) -> None:
        try:
            async with self._driver.session(database=self._database) as session:
                await (await session.run("RETURN 1")).consume()
        except (*_UNAVAILABLE, Neo4jError, DriverError) as exc:
            raise StoreUnavailable(f"Neo4j at {self._uri}: {exc}") from exc

    async def wipe(self) -> None:
        """Deletes every node and relationship, schema kept: for tests and benchmarks."""
        async with self._driver.session(database=self._database) as session:
            await (await session.run(
                "MATCH (n) WHERE NOT n:SchemaMigration"
                " CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS")).consume()

    async def close(self) -> None:
        await self._driver.close()

