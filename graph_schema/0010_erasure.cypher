// Tombstones of erased identifiers (docs/architecture.md, "Erasure and access"): keyed
// hashes only; one not lifted is a suppression ingest checks by hash.
CREATE CONSTRAINT tombstone_hashed IF NOT EXISTS
  FOR (t:Tombstone) REQUIRE t.hashed IS UNIQUE;
