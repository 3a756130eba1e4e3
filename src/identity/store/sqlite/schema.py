"""Tables of the embedded store, created idempotently when it opens.

Times are integer microseconds since the epoch (UTC): they compare as numbers, so min/max of
first and last seen are done by SQLite itself, whatever order events arrive in.
"""

SCHEMA_VERSION = 4

# The change log (outbox), version 3. Positions are rowids handed out inside the one write
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
    split_ids TEXT
);
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
""" + CHANGE_LOG

# Statements that bring a store of an older version up to this one, by the version they reach.
UPGRADES: dict[int, tuple[str, ...]] = {
    2: ("ALTER TABLE links ADD COLUMN details TEXT",),
    # A new table: SCHEMA (IF NOT EXISTS) has made it by now; kept so each step stands alone.
    3: (CHANGE_LOG,),
    # Per-profile limits: the mark of the latest link a limit holds at each node.
    4: ("ALTER TABLE nodes ADD COLUMN held TEXT",),
}
