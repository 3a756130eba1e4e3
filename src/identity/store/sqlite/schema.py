"""Tables of the embedded store, created idempotently when it opens.

Times are integer microseconds since the epoch (UTC): they compare as numbers, so min/max of
first and last seen are done by SQLite itself, whatever order events arrive in.
"""

from identity.store.sqlite.consent import CONSENT_TABLE

SCHEMA_VERSION = 10

# The change log (outbox), version 3; touch entries (kind 'touched', the ids in touched_ids,
# profile and cause empty) since version 7. Positions are rowids handed out inside the one write
# transaction, so they follow commit order; AUTOINCREMENT never hands a pruned one out again.
# How far retention has pruned is kept in meta as 'changes_pruned_through'.
CHANGE_LOG = """
CREATE TABLE IF NOT EXISTS changes (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    profile_id TEXT NOT NULL,
    cause_event_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    absorbed_ids TEXT,
    split_ids TEXT,
    touched_ids TEXT
);
"""

# The audit log and profile versions, version 5 (docs/architecture.md, "Stores"). Audit pages
# run newest first by (at, action_id) over an index per filter (none, actor, action), and a
# page by profile over audit_mentions, one row per (profile, action): each page reads its own
# rows. A profile's versions are keyed by (profile_id, version): numbering one twice fails.
# One statement each: an upgrade runs them one by one.
AUDIT_AND_VERSIONS: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS audit_entries (
    action_id TEXT PRIMARY KEY,
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    at INTEGER NOT NULL,
    reason TEXT NOT NULL,
    profile_ids TEXT,
    before TEXT NOT NULL,
    after TEXT NOT NULL,
    undo_of TEXT,
    undone_by TEXT
) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS audit_by_time ON audit_entries (at, action_id)",
    "CREATE INDEX IF NOT EXISTS audit_by_actor ON audit_entries (actor, at, action_id)",
    "CREATE INDEX IF NOT EXISTS audit_by_action ON audit_entries (action, at, action_id)",
    """CREATE TABLE IF NOT EXISTS audit_mentions (
    profile_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    action_id TEXT NOT NULL,
    PRIMARY KEY (profile_id, at, action_id)
) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS profile_versions (
    profile_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    cause TEXT NOT NULL,
    actor TEXT,
    added TEXT NOT NULL,
    removed TEXT NOT NULL,
    related TEXT,
    PRIMARY KEY (profile_id, version)
) WITHOUT ROWID""",
)
AUDIT_AND_VERSIONS_SCRIPT = "".join(f"{statement};\n" for statement in AUDIT_AND_VERSIONS)

# The review queue, version 6 (docs/architecture.md, "Stores"): one row per possible match,
# keyed by its ends' keys ("kind|value", a before b as the link has them), so the queue needs
# no node. Pending rows (outcome NULL) are paged by score through partial indexes: a page
# reads its own rows, however many decided ones the queue has kept.
REVIEW_QUEUE_TABLE = """
CREATE TABLE IF NOT EXISTS review_items (
    a_key TEXT NOT NULL,
    b_key TEXT NOT NULL,
    score REAL NOT NULL,
    source TEXT NOT NULL,
    queued_at INTEGER NOT NULL,
    outcome TEXT,
    PRIMARY KEY (a_key, b_key)
) WITHOUT ROWID
"""
REVIEW_QUEUE_BY_SCORE = """
CREATE INDEX IF NOT EXISTS review_pending_by_score
    ON review_items (score DESC, a_key, b_key) WHERE outcome IS NULL
"""
REVIEW_QUEUE_BY_SOURCE = """
CREATE INDEX IF NOT EXISTS review_pending_by_source
    ON review_items (source, score DESC, a_key, b_key) WHERE outcome IS NULL
"""
REVIEW_QUEUE = ";".join((REVIEW_QUEUE_TABLE, REVIEW_QUEUE_BY_SCORE, REVIEW_QUEUE_BY_SOURCE)) + ";"
# An existing store keeps its queue: the possible matches it holds as links, pending, with
# their score, their first source and when they were first seen.
# API keys (docs/architecture.md, "Security and privacy"): the secret only as a salted hash.
API_KEYS = """
CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    scopes TEXT NOT NULL,
    salt TEXT NOT NULL,
    digest TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER,
    rate_per_s REAL
) WITHOUT ROWID
"""

REVIEW_QUEUE_BACKFILL = """
INSERT INTO review_items (a_key, b_key, score, source, queued_at, outcome)
SELECT a.kind || '|' || a.value, b.kind || '|' || b.value, coalesce(l.score, 0.0),
       coalesce((SELECT min(e.source) FROM link_events e WHERE e.link_id = l.link_id), ''),
       l.first_seen, NULL
FROM links l JOIN nodes a ON a.node_id = l.a_node JOIN nodes b ON b.node_id = l.b_node
WHERE l.rule = 'possible_match'
ON CONFLICT (a_key, b_key) DO NOTHING
"""

# Tombstones of erased identifiers, version 10 (docs/architecture.md, "Erasure and access"):
# keyed hashes only; a row not lifted is a suppression ingest checks.
TOMBSTONES = """
CREATE TABLE IF NOT EXISTS tombstones (
    hashed TEXT PRIMARY KEY,
    action_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    lifted_at INTEGER
) WITHOUT ROWID;
"""

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS nodes (
    node_id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    group_id INTEGER,
    hub_reason TEXT,
    held TEXT,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    UNIQUE (kind, value)
);
CREATE INDEX IF NOT EXISTS nodes_by_group ON nodes (group_id);
CREATE TABLE IF NOT EXISTS groups (
    group_id INTEGER PRIMARY KEY,
    profile_id TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS profiles (
    profile_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    merged_into TEXT
);
CREATE INDEX IF NOT EXISTS profiles_by_survivor ON profiles (merged_into);
CREATE TABLE IF NOT EXISTS links (
    link_id INTEGER PRIMARY KEY,
    a_node INTEGER NOT NULL,
    b_node INTEGER NOT NULL,
    rule TEXT NOT NULL,
    is_active INTEGER NOT NULL DEFAULT 1,
    inactive_reason TEXT,
    score REAL,
    details TEXT,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    UNIQUE (a_node, b_node, rule)
);
CREATE INDEX IF NOT EXISTS links_by_b ON links (b_node);
CREATE INDEX IF NOT EXISTS links_by_rule ON links (rule) WHERE rule <> 'same_event';
CREATE TABLE IF NOT EXISTS link_events (
    link_id INTEGER NOT NULL,
    event_id TEXT NOT NULL,
    source TEXT NOT NULL,
    PRIMARY KEY (link_id, event_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    event_id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    source TEXT NOT NULL,
    observed_at INTEGER NOT NULL,
    anchor_node INTEGER NOT NULL,
    traits TEXT,
    amount TEXT,
    currency TEXT,
    received_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS events_with_data_by_anchor ON events (anchor_node)
    WHERE traits IS NOT NULL OR amount IS NOT NULL;
CREATE TABLE IF NOT EXISTS match_records (
    record_id TEXT PRIMARY KEY,
    anchor_kind TEXT NOT NULL,
    anchor_value TEXT NOT NULL,
    fields TEXT NOT NULL,
    keys TEXT NOT NULL,
    event_id TEXT NOT NULL,
    source TEXT NOT NULL,
    seen_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS match_records_by_anchor ON match_records (anchor_kind, anchor_value);
CREATE TABLE IF NOT EXISTS blocks (
    key TEXT PRIMARY KEY,
    size INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS block_members (
    key TEXT NOT NULL,
    record_id TEXT NOT NULL,
    PRIMARY KEY (key, record_id)
) WITHOUT ROWID;
""" + CHANGE_LOG + AUDIT_AND_VERSIONS_SCRIPT + REVIEW_QUEUE + TOMBSTONES + API_KEYS + ";\n" \
    + CONSENT_TABLE + ";"

# Statements that bring a store of an older version up to this one, by the version they reach.
UPGRADES: dict[int, tuple[str, ...]] = {
    2: ("ALTER TABLE links ADD COLUMN details TEXT",),
    # A new table: SCHEMA (IF NOT EXISTS) has made it by now; kept so each step stands alone.
    3: (CHANGE_LOG,),
    # Per-profile limits: the mark of the latest link a limit holds at each node.
    4: ("ALTER TABLE nodes ADD COLUMN held TEXT",),
    # The audit log and profile versions: new tables (SCHEMA has made them by now).
    5: AUDIT_AND_VERSIONS,
    # The review queue: its table and indexes (made by SCHEMA by now), then its backfill.
    6: (REVIEW_QUEUE_TABLE, REVIEW_QUEUE_BY_SCORE, REVIEW_QUEUE_BY_SOURCE,
        REVIEW_QUEUE_BACKFILL),
    # Touch entries in the change log: the profiles a commit moved with no change.
    7: ("ALTER TABLE changes ADD COLUMN touched_ids TEXT",),
    # API keys: a new table (SCHEMA has made it by now).
    8: (API_KEYS,),
    # Consent decisions (store/sqlite/consent.py): a new table (SCHEMA has made it by now).
    9: (CONSENT_TABLE,),
    # Tombstones of erased identifiers: a new table (SCHEMA has made it by now).
    10: (TOMBSTONES,),
}
