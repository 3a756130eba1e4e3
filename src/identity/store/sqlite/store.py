"""SqliteGraphStore: the embedded default store, one local file that survives restarts.

One writer at a time (an asyncio lock around BEGIN IMMEDIATE … COMMIT) and a pool of reader
connections that see the last committed state through WAL, so lookups never wait for a long
ingest batch. Each statement takes microseconds, so it runs on the event loop's thread.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from pathlib import Path

from identity.domain.types import Identifier
from identity.store.errors import StoreUnavailable
from identity.store.sqlite.audit import SqliteAuditLog
from identity.store.sqlite.changes import SqliteChangeLog
from identity.store.sqlite.consent import SqliteConsentLog
from identity.store.sqlite.erasure import SqliteErasures
from identity.store.sqlite.events import SqliteEventLog
from identity.store.sqlite.graph import SqliteGraph
from identity.store.sqlite.keys import SqliteApiKeys
from identity.store.sqlite.matches import SqliteMatchIndex
from identity.store.sqlite.reviews import SqliteReviewQueue
from identity.store.sqlite.schema import SCHEMA, SCHEMA_VERSION, UPGRADES
from identity.store.sqlite.versions import SqliteProfileVersions
from identity.store.sqlite.views import SqliteProfileViews

log = logging.getLogger(__name__)


class SqliteTransaction:
    """One open transaction: its primitives by role, as the protocol names them."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        node_ids: dict[Identifier, int] = {}  # looked up once per transaction
        self.events = SqliteEventLog(conn, node_ids)
        self.graph = SqliteGraph(conn, node_ids)
        self.matches = SqliteMatchIndex(conn, node_ids)
        self.changes = SqliteChangeLog(conn, node_ids)
        self.audit = SqliteAuditLog(conn, node_ids)
        self.versions = SqliteProfileVersions(conn, node_ids)
        self.reviews = SqliteReviewQueue(conn, node_ids)
        self.views = SqliteProfileViews(conn, node_ids)
        self.consents = SqliteConsentLog(conn, node_ids)
        self.erasure = SqliteErasures(conn, node_ids)
        self.keys = SqliteApiKeys(conn, node_ids)


def _create_private(path: Path) -> None:
    """A new database (and a new folder for it) only its owner may read: the graph holds
    every customer's emails and phones. SQLite gives the WAL and shared-memory files the
    database file's mode. An existing file keeps the mode its operator gave it."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


class SqliteGraphStore:
    """The GraphStore protocol over one SQLite file (or `:memory:` for tests)."""

    def __init__(self, path: str, *, synchronous: str = "FULL") -> None:
        self._path = path
        self._synchronous = synchronous
        self._is_memory = path == ":memory:"
        self._write_lock = asyncio.Lock()
        self._commits = 0
        self._readers: list[sqlite3.Connection] = []
        try:
            if not self._is_memory:
                _create_private(Path(path))
            self._writer = self._connect()
            self._migrate()
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailable(f"cannot open SQLite store at {path}: {exc}") from exc

    def _connect(self) -> sqlite3.Connection:
        # The loop's thread is the only user; the locks below order access, so sharing a
        # connection with a server thread started by tests is safe.
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 5000")
        # 64 MiB of page cache per connection instead of SQLite's 2 MiB: the indexes of a
        # graph of millions of identifiers stay in memory and lookups stay flat as it grows.
        conn.execute("PRAGMA cache_size = -65536")
        # Checkpoint every ~40 MiB of WAL rather than 4 MiB: a page rewritten by many batches
        # is copied back once, which keeps commit cost from climbing as the graph grows.
        conn.execute("PRAGMA wal_autocheckpoint = 10000")
        conn.execute("PRAGMA mmap_size = 268435456")
        # Deleted content is overwritten with zeros, not left in free pages for a reader of
        # the file to find: what erasure deletes is gone from the file (docs/architecture.md,
        # "Erasure and access"; the ingest cost is measured there).
        conn.execute("PRAGMA secure_delete = ON")
        if not self._is_memory:
            conn.execute("PRAGMA journal_mode = WAL")
            # FULL: an acknowledged event survives a power cut, not only a crash
            # (docs/architecture.md, invariant 5).
            conn.execute(f"PRAGMA synchronous = {self._synchronous}")
        return conn

    def _migrate(self) -> None:
        self._writer.executescript(SCHEMA)
        row = self._writer.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is not None and int(row[0]) > SCHEMA_VERSION:
            raise StoreUnavailable(
                f"{self._path} has schema version {row[0]}, newer than this release "
                f"({SCHEMA_VERSION}); upgrade the service"
            )
        # Upgrades and the new version land together, or not at all.
        self._writer.execute("BEGIN IMMEDIATE")
        try:
            if row is not None:
                for version in range(int(row[0]) + 1, SCHEMA_VERSION + 1):
                    for statement in UPGRADES.get(version, ()):
                        self._upgrade(statement)
            self._writer.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )
        except BaseException:
            self._writer.execute("ROLLBACK")
            raise
        self._writer.execute("COMMIT")

    def _upgrade(self, statement: str) -> None:
        try:
            self._writer.execute(statement)
        except sqlite3.OperationalError as exc:
            # A column added to a table that SCHEMA has just made whole, because the file
            # predates the table itself (changes, in a version 2 file): already there.
            if not (statement.startswith("ALTER TABLE") and "duplicate column" in str(exc)):
                raise

    @contextmanager
    def _begun(self, conn: sqlite3.Connection, begin: str) -> Iterator[SqliteTransaction]:
        try:
            conn.execute(begin)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"SQLite store at {self._path}: {exc}") from exc
        tx = SqliteTransaction(conn)
        try:
            yield tx
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            conn.execute("ROLLBACK")
            raise StoreUnavailable(f"SQLite store at {self._path}: {exc}") from exc
        if tx.erasure.erased and not self._is_memory:
            self._checkpoint(conn)

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        """After an erasure commits: the WAL's frames (older versions of the erased rows)
        are copied back and the file truncated to nothing (docs/architecture.md, "Erasure
        and access"). A reader holding an old snapshot makes it wait (busy_timeout)."""
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            log.warning("SQLite store at %s: the WAL could not be truncated after an erasure"
                        " (a reader held it); the next checkpoint copies it back", self._path)

    @asynccontextmanager
    async def transaction(self, *, read_only: bool = False) -> AsyncIterator[SqliteTransaction]:
        if read_only and not self._is_memory:
            conn = self._readers.pop() if self._readers else self._connect()
            try:
                with self._begun(conn, "BEGIN") as tx:
                    yield tx
            finally:
                self._readers.append(conn)
            return
        async with self._write_lock:
            with self._begun(self._writer, "BEGIN IMMEDIATE") as tx:
                yield tx
            if not read_only:
                self._commits += 1

    def commits(self) -> int:
        return self._commits

    def commits_elsewhere(self) -> int | None:
        """SQLite's data_version of the writer connection: it moves with every commit made
        through any other connection (another process's), never with the writer's own."""
        try:
            row = self._writer.execute("PRAGMA data_version").fetchone()
        except sqlite3.Error:  # closed
            return None
        return int(row[0])

    async def ping(self) -> None:
        async with self.transaction(read_only=True) as tx:
            await tx.events.seen_event_ids(["-"])

    async def close(self) -> None:
        async with self._write_lock:
            for conn in [*self._readers, self._writer]:
                conn.close()
            self._readers.clear()

