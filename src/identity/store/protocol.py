"""The narrow store protocol every adapter implements (docs/architecture.md, Stores).

Primitives only, each taking and returning lists: nothing here knows what a merge, a golden
record or an explanation is; that lives once in the domain and the service layer. Rows are
frozen domain dataclasses, never driver records.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from identity.domain.changes import ProfileChange
from identity.domain.consent import ConsentDecision
from identity.domain.events import Order
from identity.domain.links import Link, LinkObservation
from identity.domain.matching.records import MatchRecord
from identity.domain.resolution import GroupMakeup, GroupState
from identity.domain.types import EventId, Identifier, ProfileId


@dataclass(frozen=True, slots=True)
class NodeRow:
    identifier: Identifier
    group_id: int | None
    first_seen: datetime
    last_seen: datetime
    hub_reason: str | None = None
    held: str | None = None  # mark of the latest link a per-profile limit holds at this node


@dataclass(frozen=True, slots=True)
class PriorLink:
    """A link as it was before a call folded new sightings into it."""

    first_seen: datetime
    score: float | None


@dataclass(frozen=True, slots=True)
class ProfileRow:
    """Where a public profile id points now: merged ids resolve to their survivor."""

    requested_id: ProfileId
    profile_id: ProfileId
    group_id: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """What an accepted event leaves behind: enough for idempotency and the golden record."""

    event_id: EventId
    type: str
    source: str
    observed_at: datetime
    anchor: Identifier
    traits: tuple[tuple[str, str], ...] = ()
    order: Order | None = None
    # When the service took it in (its clock): a profile as of a time counts only the events
    # received by then. Set by ingest; read back by read_stored_events.
    received_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class BlockLookup:
    records: list[MatchRecord]
    oversized: list[tuple[str, int]]  # (blocking key, records filed under it): not returned


@dataclass(frozen=True, slots=True)
class ChangeRow:
    """A change as the log holds it: positions are dense (1, 2, 3, …), in commit order."""

    position: int
    change: ProfileChange


@dataclass(frozen=True, slots=True)
class ProfileReading:
    """Everything a profile's view is built from, read at once (one query on Neo4j)."""

    row: ProfileRow
    members: list[NodeRow]
    events: list[StoredEvent]  # the members' events that carry traits or an order
    merged_ids: list[ProfileId]  # by age, as IdentityGraph.merged_ids
    version: int  # its latest version, 0 for none
    updated_at: datetime | None  # that version's time, None for none
    held_reasons: list[str]  # the reasons of the inactive links at its held members


@dataclass(frozen=True, slots=True)
class ChangePage:
    changes: list[ChangeRow]  # the scanned changes that mention a wanted profile, in order
    through: int  # the last position scanned (`after` when none): the next page starts here
    pruned_through: int  # retention removed every change at or below this position
    last: int  # the highest position handed out so far
    # With no profile ids asked for: the profiles the scanned touch entries name (views that
    # moved with no change, such as a last_seen): what read caches must forget.
    touched: list[ProfileId] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One action on the graph: a steward's, or an automatic merge or split (actor
    `rule:<rule>`). `before`/`after` are JSON the service writes and reads back (what undo
    needs); the log stores them as they are."""

    action_id: str
    action: str  # merge, split, unlink, undo, accept_review, reject_review, auto_merge, ...
    actor: str
    at: datetime
    reason: str
    profile_ids: tuple[ProfileId, ...]  # every profile it concerns, before and after
    before: str
    after: str
    undo_of: str | None = None  # the action this one undid
    undone_by: str | None = None  # the undo that undid this one


@dataclass(frozen=True, slots=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    profile_id: str | None = None
    # Actions left out (read_pii: the reads of personal data, which outnumber what a steward
    # undoes), checked on the rows the leading filter's index gives.
    exclude_actions: tuple[str, ...] = ()


AuditCursor = tuple[datetime, str]  # (at, action id) of the last entry of a page


@dataclass(frozen=True, slots=True)
class VersionRow:
    """One version of one profile: what changed in it, and who or what changed it. A profile's
    members at a version are the fold of `added` and `removed` over its versions, with the
    members of the profiles it absorbed (`related` of a merge)."""

    profile_id: ProfileId
    version: int  # 1, 2, 3, … per profile
    at: datetime
    kind: str  # created, updated, merged, split, split_from, merged_into
    cause: str  # the event id, or the audited action id
    actor: str | None  # a steward, for an action; None for an event
    added: tuple[Identifier, ...] = ()
    removed: tuple[Identifier, ...] = ()
    related: tuple[ProfileId, ...] = ()  # absorbed ids, split ids, the source or the survivor


@dataclass(frozen=True, slots=True)
class ReviewItem:
    """A possible match waiting for a steward: one per pair, pending until decided, or until
    its two sides are found joined (then it leaves the queue for good)."""

    a: Identifier
    b: Identifier
    score: float
    source: str
    queued_at: datetime
    outcome: str | None = None  # None: pending; accepted, rejected, joined


ReviewCursor = tuple[float, str, str]  # (score, a.key, b.key) of the last item of a page


class EventLog(Protocol):
    """The event log: which events were seen, and what each left behind for the golden
    record."""

    async def seen_event_ids(self, event_ids: Sequence[str]) -> set[str]: ...

    async def record_events(self, events: Sequence[StoredEvent]) -> None: ...

    async def read_stored_events(self, anchors: Sequence[Identifier]) -> list[StoredEvent]:
        """Only events that carry traits or an order: the rest add nothing to a profile."""
        ...


@dataclass(frozen=True, slots=True)
class GroupsAround:
    """Groups with what settling reads of them at once: their members, every link at a
    member, and the nodes at those links' other ends that are not members."""

    groups: list[GroupState]  # found ones, by group id
    members: list[NodeRow]  # by kind, then value
    links: list[Link]  # by a, b, rule
    ends: list[NodeRow]  # by kind, then value


class IdentityGraph(Protocol):
    """The identity graph: nodes, links (with their evidence and state), groups, their
    members and the profiles they carry."""

    async def upsert_identifiers(
        self, sightings: Sequence[tuple[Identifier, datetime]]
    ) -> list[NodeRow]:
        """Creates missing nodes and widens first/last seen; one row per sighting, in input
        order, showing the node as it is after the whole call. Write-locks the nodes until
        commit: a batch that upserts all its identifiers first, in one sorted pass, cannot
        deadlock with another on them."""
        ...

    async def find_identifiers(self, identifiers: Sequence[Identifier]) -> list[NodeRow]: ...

    async def add_links(self, observations: Sequence[LinkObservation]
                        ) -> list[PriorLink | None]:
        """Folds sightings into links keyed by (a, b, rule), keeping every event as evidence;
        a sighting with an inactive reason makes the link inactive, never the reverse.
        Returns, per observation, its link as it was before the call (None: the call made
        it), so the caller knows which links are new or seen earlier than before."""
        ...

    async def set_link_states(
        self, states: Sequence[tuple[Identifier, Identifier, str, str | None]]
    ) -> None:
        """Makes each (a, b, rule) link active (reason None) or inactive with the reason."""
        ...

    async def mark_held(self, marks: Sequence[tuple[Identifier, str | None]]) -> None:
        """Records on each node the mark of the latest link a limit holds at it, or None."""
        ...

    async def read_makeup(self, group_ids: Sequence[int]) -> dict[int, GroupMakeup]:
        """Each group's members counted by kind, and the latest `held` mark among them."""
        ...

    async def read_links(self, identifiers: Sequence[Identifier]) -> list[Link]:
        """Links with at least one end among `identifiers`."""
        ...

    async def read_neighbors(
        self, identifiers: Sequence[Identifier], rule: str, kinds: Sequence[str],
        kind_prefixes: Sequence[str] = (),
    ) -> list[tuple[Identifier, Identifier]]:
        """(node, neighbor) over every link of `rule`, active or not, where the neighbor's
        kind is one of `kinds` or starts with one of `kind_prefixes`."""
        ...

    async def mark_hubs(self, hubs: Sequence[tuple[Identifier, str]]) -> None: ...

    async def create_groups(
        self, profile_ids: Sequence[ProfileId], created_at: datetime
    ) -> list[GroupState]:
        """A new, empty group per profile id; the profiles' ages follow the input order."""
        ...

    async def read_groups(self, group_ids: Sequence[int]) -> list[GroupState]:
        """In a write transaction the groups stay locked until commit."""
        ...

    async def assign_members(self, assignments: Sequence[tuple[Identifier, int]]) -> None:
        """Puts each node in its group, taking it out of any group it was in."""
        ...

    async def move_members(self, moves: Sequence[tuple[int, int]]) -> None:
        """(from, to) in order: every member of `from` moves to `to`; `from` is deleted."""
        ...

    async def relabel_groups(
        self, relabels: Sequence[tuple[int, ProfileId, Sequence[ProfileId]]]
    ) -> None:
        """Gives each group its public id and records the absorbed ids as merged into it."""
        ...

    async def lookup_profiles(self, profile_ids: Sequence[str]) -> list[ProfileRow]:
        """Unknown ids are left out; merged ids come back pointing at their survivor."""
        ...

    async def merged_ids(self, profile_id: ProfileId) -> list[ProfileId]: ...

    async def read_members(self, group_ids: Sequence[int]) -> list[NodeRow]: ...

    async def read_groups_around(self, group_ids: Sequence[int]) -> GroupsAround:
        """read_groups (locking them in a write transaction), read_members, read_links of the
        members and find_identifiers of the links' other ends, in one read: one round trip
        on Neo4j for each step settling takes outwards (docs/architecture.md, "Neo4j: round
        trips and records")."""
        ...

    async def withdraw_sightings(
        self, sightings: Sequence[tuple[Identifier, Identifier, str, str]]
    ) -> None:
        """Takes each (a, b, rule, event id) sighting out of its link's evidence, and the link
        with it once no sighting is left: how a steward's action is undone without undoing
        another's that wrote the same link (the audit log keeps what it was)."""
        ...

    async def restore_groups(
        self, restores: Sequence[tuple[ProfileId, Sequence[ProfileId]]]
    ) -> list[GroupState]:
        """A new, empty group for each profile id that was merged away, which answers for
        itself again (with its age), and the given ids merged into it again: how undoing a
        merge gives back the exact ids it took."""
        ...

    async def read_links_by_rule(
        self, rule: str, after: tuple[str, str] | None, limit: int
    ) -> list[Link]:
        """Up to `limit` links of one rule ordered by their ends' keys, after the ends
        `after` (a.key, b.key): how a queue of possible matches is paged."""
        ...


class MatchIndex(Protocol):
    """The match index: the records probabilistic matching compares, and the blocking keys
    that find them."""

    async def index_records(self, records: Sequence[MatchRecord], max_block: int) -> list[str]:
        """Stores the records not stored yet and files them under their blocking keys;
        returns the ids that were new. A block stops taking members once it holds
        `max_block` (its count keeps growing), so a common surname costs bounded space."""
        ...

    async def find_records(self, keys: Sequence[str], max_block: int) -> BlockLookup:
        """Records filed under any of `keys`, each once. A block counted over `max_block`
        is left out and reported instead: it would cost a comparison per member."""
        ...

    async def read_records(self, anchors: Sequence[Identifier]) -> list[MatchRecord]: ...

    async def count_records(self) -> int:
        """How many match records the store holds: the size the match model's prior
        follows."""
        ...

    async def scan_records(self, after: str, limit: int) -> list[MatchRecord]:
        """Up to `limit` records with ids above `after`, in id order: training pages by it."""
        ...

    async def refile_records(self, records: Sequence[MatchRecord], max_block: int
                             ) -> list[str]:
        """Files stored records under the keys they carry instead of the keys they were
        stored with (a new model's blocking rules), so lookups by the new keys find them;
        returns the ids whose keys changed. Each record leaves the blocks of the keys it
        drops (their counts fall; a block counted down to none is gone) and joins those of
        the keys it gains as `index_records` files (counted, a member while the block holds
        at most `max_block`); a key it keeps is left alone, so a second call is a no-op.
        Records not stored are left out: there is nothing to re-file."""
        ...


class ChangeLog(Protocol):
    """The change log: every profile change, in commit order, read by position and pruned by
    age."""

    async def append_changes(self, changes: Sequence[ProfileChange],
                             touched: Sequence[ProfileId] = ()) -> None:
        """Logs the changes under the next positions, in input order, then, when `touched`
        names any profile, one touch entry for them (profiles whose view the transaction may
        have moved: read caches of other replicas forget them; change feeds skip it). Called
        last in the transaction that made them, so a change is durable exactly when its event
        is. Positions follow commit order: no change ever commits below a position a reader
        has already passed."""
        ...

    async def read_changes(
        self, after: int, limit: int, profile_ids: Sequence[str]
    ) -> ChangePage:
        """Scans up to `limit` changes after position `after` (after the pruned ones when
        `after` is below them), in position order, and returns those whose profile, absorbed
        or split ids include one of `profile_ids` (every one when empty; then with the ids
        of the touch entries scanned). `through` never passes a change that may still become
        visible."""
        ...

    async def last_position(self) -> int:
        """The highest position handed out so far (0 for none): a reader that starts after
        it sees the changes from then on (ChangePage.last, without reading a page)."""
        ...

    async def prune_changes(self, before: datetime, limit: int) -> int:
        """Removes up to `limit` of the oldest changes made before `before`, from the start
        of the log only, and raises `pruned_through` over them; returns how many went."""
        ...


class AuditLog(Protocol):
    """The audit log: every action on the graph, newest first, by actor, action or profile."""

    async def append_entries(self, entries: Sequence[AuditEntry]) -> None: ...

    async def read_entries(self, action_ids: Sequence[str]) -> list[AuditEntry]:
        """The entries found, in input order; unknown ids are left out."""
        ...

    async def page_entries(self, where: AuditFilter, before: AuditCursor | None, limit: int
                           ) -> list[AuditEntry]:
        """Up to `limit` entries matching `where`, newest first (by time, then action id),
        strictly before `before`."""
        ...

    async def mark_undone(self, undone: Sequence[tuple[str, str]]) -> None:
        """(action id, the undo's action id): the action is undone."""
        ...


class ProfileVersions(Protocol):
    """Each profile's versions: what changed in it, numbered from 1."""

    async def append_versions(self, rows: Sequence[VersionRow]) -> None:
        """A (profile, version) stored twice is a conflict (StoreConflict): two writers
        numbered one profile's change alike, and one of them retries."""
        ...

    async def latest_versions(self, profile_ids: Sequence[str]) -> dict[ProfileId, int]:
        """The last version of each profile that has one."""
        ...

    async def read_versions(self, profile_id: str, after: int, limit: int
                            ) -> list[VersionRow]:
        """Up to `limit` versions above `after`, oldest first."""
        ...


class ReviewQueue(Protocol):
    """Possible matches awaiting a steward, sorted by score (an index on both stores)."""

    async def enqueue(self, items: Sequence[ReviewItem]) -> None:
        """Adds the pairs not queued yet (a pair decided earlier is not queued again); a
        higher score for a pending pair raises it."""
        ...

    async def page_pending(self, after: ReviewCursor | None, limit: int,
                           min_score: float, max_score: float, source: str | None
                           ) -> list[ReviewItem]:
        """Up to `limit` pending items, highest score first (then a, b), strictly after
        `after`, with min_score <= score <= max_score and of `source` when given."""
        ...

    async def read_items(self, pairs: Sequence[tuple[Identifier, Identifier]]
                         ) -> list[ReviewItem]:
        """The items of these (a, b) pairs (a < b), decided or not; unknown pairs left out."""
        ...

    async def resolve(self, outcomes: Sequence[tuple[Identifier, Identifier, str | None]]
                      ) -> None:
        """Sets each pair's outcome (None: pending again, as an undone decision leaves it)."""
        ...


class ProfileViews(Protocol):
    """A read model over the other roles: what a profile's view needs, in one round trip
    where the store can (a profile read on Neo4j was five)."""

    async def read_profiles(self, profile_ids: Sequence[str]) -> list[ProfileReading]:
        """One per id found, in input order; a merged id reads its survivor (`row` says
        both); unknown ids are left out."""
        ...

    async def profile_ids_of(self, identifiers: Sequence[Identifier]
                             ) -> dict[Identifier, ProfileId | None]:
        """Just the profile id of each known identifier, in one round trip (unknown ones left
        out; None as read_profiles_of says)."""
        ...

    async def read_profiles_of(self, identifiers: Sequence[Identifier]
                               ) -> dict[Identifier, ProfileReading | None]:
        """The profile each known identifier is in (`row.requested_id` is that profile's
        id); unknown identifiers are left out. None for a node found outside any group, as a
        concurrent merge can leave it for a moment on Neo4j: the caller retries."""
        ...


@dataclass(frozen=True, slots=True)
class ApiKeyRow:
    """An API key as kept: its id, never its secret; only a salted hash of the secret
    (docs/architecture.md, "Security and privacy")."""

    key_id: str
    name: str
    scopes: tuple[str, ...]
    salt: str  # hex
    digest: str  # hex SHA-256 of salt and secret
    created_at: datetime
    revoked_at: datetime | None = None
    rate_per_s: float | None = None  # this key's request rate; None: the service's default


class ApiKeys(Protocol):
    """The API keys callers authenticate with."""

    async def add_key(self, row: ApiKeyRow) -> None:
        """Raises StoreConflict when the key id is taken."""
        ...

    async def read_key(self, key_id: str) -> ApiKeyRow | None: ...

    async def list_keys(self) -> list[ApiKeyRow]:
        """Every key, revoked ones included, oldest first."""
        ...

    async def revoke_key(self, key_id: str, at: datetime) -> bool:
        """False when no such key is kept; revoking twice keeps the first time."""
        ...


@dataclass(frozen=True, slots=True)
class Tombstone:
    """What erasure leaves of one identifier (docs/architecture.md, "Erasure and access"): its
    keyed hash, never its value, the erasing action and when. A suppression while not lifted."""

    hashed: str
    action_id: str
    at: datetime
    lifted_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ErasedRows:
    """How many rows of each kind an erasure removed (or, for changes, emptied)."""

    nodes: int = 0
    links: int = 0
    events: int = 0
    records: int = 0
    reviews: int = 0
    profiles: int = 0
    versions: int = 0
    changes: int = 0


LinkDetails = tuple[Identifier, Identifier, str, str]


@dataclass(frozen=True, slots=True)
class Holding:
    """What `Erasures.holding` found: records, events (with their traits) and link details
    to narrow."""

    records: list[MatchRecord] = field(default_factory=list)
    events: list[StoredEvent] = field(default_factory=list)
    # (a, b, rule, details): links whose evidence (a score's values, a steward's note) holds one
    details: list[LinkDetails] = field(default_factory=list)


class Erasures(Protocol):
    """Erasure (GDPR Art. 17) and the suppression list it leaves: primitives that delete by
    identifier and profile id, and tombstones keyed by hash."""

    async def erase_rows(self, identifiers: Sequence[Identifier],
                         profile_ids: Sequence[ProfileId]) -> ErasedRows:
        """Deletes the nodes of `identifiers` with every link at them (and its evidence), the
        events anchored on them, the match records anchored on them (out of their blocks), the
        review items naming them; the groups and profile rows of `profile_ids` and their
        versions; and empties the change log's entries naming any of `profile_ids` into touch
        entries with no ids (positions stay dense: feeds read past them, none is published)."""
        ...

    async def strip_versions(self, profile_ids: Sequence[ProfileId],
                             identifiers: Sequence[Identifier],
                             erased_ids: Sequence[ProfileId]) -> int:
        """Takes `identifiers` out of the added/removed of these profiles' versions and
        `erased_ids` out of their related ids; returns how many versions changed."""
        ...

    async def redact_audit(self, entries: Sequence[tuple[str, str, str, str]]) -> None:
        """(action id, reason, before, after): replaces those texts of existing entries."""
        ...

    async def holding(self, needles: Sequence[str]) -> Holding:
        """The match records whose fields, the stored events whose traits and the links
        whose details hold any of `needles` (lowercase; found in the stored text
        lowercased), whatever their anchor: a coarse filter, one scan of each, that the
        caller narrows. How an erased value kept by a survivor's record, event or link is
        found."""
        ...

    async def rewrite_holding(self, record_ids: Sequence[str],
                              traits: Sequence[tuple[EventId, tuple[tuple[str, str], ...]]],
                              details: Sequence[LinkDetails] = ()) -> int:
        """Deletes these match records (out of their blocks, as erase_rows takes a record),
        sets these events' traits and these links' details (by a, b, rule); returns how many
        records were deleted."""
        ...

    async def add_tombstones(self, tombstones: Sequence[Tombstone]) -> None:
        """A hash tombstoned before is tombstoned again (this action, not lifted)."""
        ...

    async def suppressed(self, hashed: Sequence[str]) -> set[str]:
        """The hashes among `hashed` with a tombstone not lifted."""
        ...

    async def lift(self, hashed: Sequence[str], at: datetime) -> list[str]:
        """Lifts the suppressions of these hashes; returns those that were in force."""
        ...

    async def erasure_key(self, candidate: str) -> str:
        """The key kept in the store for keyed hashes, keeping `candidate` at first use."""
        ...


@dataclass(frozen=True, slots=True)
class ConsentRow:
    """A consent decision and the identifier it hangs on (docs/architecture.md, "Consent")."""

    anchor: Identifier
    decision: ConsentDecision


class ConsentLog(Protocol):
    """Consent decisions, the latest per (identifier, purpose)."""

    async def record_consents(self, rows: Sequence[ConsentRow]) -> None:
        """Keeps each row unless its (anchor, purpose) holds a later decision, by (time,
        event id): the same rows in any order, or twice, leave the same state."""
        ...

    async def read_consents(self, anchors: Sequence[Identifier]) -> list[ConsentRow]:
        """The decisions kept on these identifiers, by anchor then purpose."""
        ...

    async def erase_consents(self, anchors: Sequence[Identifier]) -> int:
        """Removes every decision on these identifiers (erasure); returns how many went."""
        ...


class GraphTransaction(Protocol):
    """One open transaction: the store's primitives by role, as a unit of work holds its
    repositories (docs/architecture.md, "Stores"). A feature that needs a new kind of data
    adds a role rather than widening one."""

    @property
    def events(self) -> EventLog: ...

    @property
    def graph(self) -> IdentityGraph: ...

    @property
    def matches(self) -> MatchIndex: ...

    @property
    def changes(self) -> ChangeLog: ...

    @property
    def audit(self) -> AuditLog: ...

    @property
    def versions(self) -> ProfileVersions: ...

    @property
    def reviews(self) -> ReviewQueue: ...

    @property
    def views(self) -> ProfileViews: ...

    @property
    def consents(self) -> ConsentLog: ...

    @property
    def erasure(self) -> Erasures: ...

    @property
    def keys(self) -> ApiKeys: ...


class GraphStore(Protocol):
    def transaction(self, *, read_only: bool = False) -> AbstractAsyncContextManager[
        GraphTransaction
    ]:
        """Commits on a clean exit and rolls back on an exception: all or nothing."""
        ...

    def commits(self) -> int:
        """How many write transactions this object has committed: a read cache learns of
        writers it did not hear from (another service on the same store object)."""
        ...

    def commits_elsewhere(self) -> int | None:
        """A number that moves whenever data is committed by any hand but this object's own
        transactions (another process on the same database), read without waiting; None
        when the store cannot tell, or not cheaply. Read caches rely on it: None means keep
        nothing."""
        ...

    async def ping(self) -> None:
        """Raises StoreUnavailable when the database cannot answer."""
        ...

    async def close(self) -> None: ...
