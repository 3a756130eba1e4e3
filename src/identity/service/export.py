"""exportProfile: everything held about a person, as JSON (GDPR Art. 15; docs/architecture.md,
"Erasure and access").

One read transaction gathers what the store holds under the profile's identifiers and ids:
identifiers, golden record with its sources, match records (the traits observed), links with
their evidence, events with data and orders, review items, versions, the change log's entries
naming it, consent decisions and the audit entries about it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from contextlib import suppress
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from identity.domain.errors import ValidationError
from identity.domain.identifiers import printable
from identity.domain.steward import check_note
from identity.domain.types import Identifier, ProfileId
from identity.service.history import new_action_id
from identity.service.queries import ProfileView
from identity.service.retry import retry_on_conflict
from identity.store.protocol import (
    AuditCursor,
    AuditEntry,
    AuditFilter,
    ChangeRow,
    GraphStore,
    GraphTransaction,
)

EXPORT_ACTION = "export"
EXPORT_REASON = "access request (GDPR Art. 15)"  # the audit entry's reason
EXPORT_FORMAT = 1  # the document's `format`: raised when a field changes meaning
_PAGE = 500


def plain(value: Any) -> Any:
    """A value as JSON holds it: dataclasses as objects, identifiers as {kind, value}, times
    in ISO 8601, amounts as strings (exact), enums by value."""
    if isinstance(value, Identifier):
        return {"kind": value.kind, "value": value.value}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(item) for item in value]
    return value


class Exporter:
    def __init__(self, store: GraphStore) -> None:
        self._store = store

    async def export(self, profile_id: str, view: ProfileView | None) -> dict[str, Any]:
        """Raises ValidationError for an unknown profile id. `view`: the golden profile as
        queries read it (the caller's, so it is built one way)."""
        async def read() -> dict[str, Any]:
            async with self._store.transaction(read_only=True) as tx:
                return await self._gather(tx, profile_id, view)

        return await retry_on_conflict(read)

    @staticmethod
    async def _gather(tx: GraphTransaction, profile_id: str, view: ProfileView | None
                      ) -> dict[str, Any]:
        found = await tx.graph.lookup_profiles([profile_id])
        if not found or view is None:
            raise ValidationError.of("profileId", f"no profile '{printable(profile_id, 64)}'")
        row = found[0]
        ids = (row.profile_id, *await tx.graph.merged_ids(row.profile_id))
        members = await tx.graph.read_members([row.group_id])
        anchors = [m.identifier for m in members]
        links = await tx.graph.read_links(anchors)
        pairs = sorted({(link.a, link.b) for link in links})
        versions = []
        audit: dict[str, AuditEntry] = {}
        for each in ids:
            after = 0
            while page := await tx.versions.read_versions(each, after, _PAGE):
                versions += page
                after = page[-1].version
            before: AuditCursor | None = None
            while entries := await tx.audit.page_entries(AuditFilter(profile_id=each), before,
                                                         _PAGE):
                audit.update((e.action_id, e) for e in entries)
                before = (entries[-1].at, entries[-1].action_id)
                if len(entries) < _PAGE:
                    break
        changes: list[ChangeRow] = []
        position = 0
        while True:
            log = await tx.changes.read_changes(position, _PAGE, list(ids))
            changes += log.changes
            if log.through <= position or log.through >= log.last:
                break
            position = log.through
        consents = await tx.consents.read_consents(anchors)
        return {
            "format": EXPORT_FORMAT,
            "profile_id": row.profile_id,
            "requested_id": profile_id,
            "merged_ids": list(ids[1:]),
            "created_at": row.created_at.isoformat(),
            "profile": plain(view),
            "identifiers": plain(members),
            "observations": plain(await tx.matches.read_records(anchors)),
            "links": plain(links),
            "events": plain(await tx.events.read_stored_events(anchors)),
            "review_items": plain(await tx.reviews.read_items(pairs)),
            "versions": plain(versions),
            "changes": [{"position": c.position, **plain(c.change)} for c in changes],
            "consents": plain(consents),
            "audit": [_entry(e) for e in sorted(audit.values(),
                                                 key=lambda e: (e.at, e.action_id))],
        }


def _entry(entry: AuditEntry) -> dict[str, Any]:
    """An audit entry with its before/after states as JSON, not as text in text."""
    shown: dict[str, Any] = plain(entry)
    for name in ("before", "after"):
        with suppress(ValueError):
            shown[name] = json.loads(shown[name])
    return shown


async def audit_export(store: GraphStore, document: Mapping[str, Any], actor: str,
                       at: datetime) -> str:
    """Who exported whom, and when (action `export`): ids and counts, no personal data.
    Returns the action id. Raises ValidationError for an actor the audit log cannot show
    (empty, too long, control characters, lone surrogates: check_note), before writing."""
    actor, reason = check_note(actor, EXPORT_REASON)
    action_id = new_action_id()
    ids = (ProfileId(document["profile_id"]), *(ProfileId(i) for i in document["merged_ids"]))

    async def write() -> None:
        async with store.transaction() as tx:
            await tx.audit.append_entries([AuditEntry(
                action_id, EXPORT_ACTION, actor, at, reason, ids,
                "{}", json.dumps({"identifiers": len(document["identifiers"]),
                                  "events": len(document["events"])}, sort_keys=True))])

    await retry_on_conflict(write)
    return action_id
