"""SQLite graph files as an earlier release wrote them, for the upgrade-on-open tests."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from identity.store.sqlite.consent import CONSENT_TABLE
from identity.store.sqlite.schema import (
    API_KEYS,
    AUDIT_AND_VERSIONS_SCRIPT,
    CHANGE_LOG,
    REVIEW_QUEUE,
    SCHEMA,
    SCHEMA_VERSION,
    TOMBSTONES,
)

# What each schema version added to the one before: a release at version v lacked the rest.
ADDED_IN = {
    2: "    details TEXT,\n",  # links: the scored comparison
    3: CHANGE_LOG,
    4: "    held TEXT,\n",  # nodes: the mark of the latest link a per-profile limit holds
    5: AUDIT_AND_VERSIONS_SCRIPT,  # the audit log and profile versions
    6: REVIEW_QUEUE,  # the review queue
    7: ",\n    touched_ids TEXT",  # changes: the ids of a touch entry
    8: API_KEYS,  # the API keys
    9: CONSENT_TABLE,  # consent decisions
    10: TOMBSTONES,  # the erased identifiers' keyed hashes
}


def old_release_file(path: Path, version: int, *, statements: tuple[str, ...] = ()) -> Path:
    """A file at schema `version`: today's schema less what later versions added, its
    version recorded in meta, then `statements` run on it."""
    assert sorted(ADDED_IN) == list(range(2, SCHEMA_VERSION + 1)), "say what each version added"
    schema = SCHEMA
    left_out: list[str] = []
    for later, added in sorted(ADDED_IN.items(), reverse=True):  # newest first
        if later > version:
            for newer in left_out:  # a table added later lacks what was added to it since
                added = added.replace(newer, "")
            if added not in schema:
                raise ValueError(f"today's schema has no {added!r} to leave out")
            schema = schema.replace(added, "")
            left_out.append(added)
    old = sqlite3.connect(path)
    try:
        old.executescript(schema)
        old.execute("INSERT INTO meta (key, value) VALUES ('schema_version', ?)", (str(version),))
        for statement in statements:
            old.execute(statement)
        old.commit()
    finally:
        old.close()
    return path
