// The review queue (docs/architecture.md, "Stores"): one (:ReviewItem) per possible match,
// keyed by its ends' keys ("kind|value", a before b as the link has them).
CREATE CONSTRAINT review_item_pair IF NOT EXISTS
  FOR (r:ReviewItem) REQUIRE (r.a, r.b) IS UNIQUE;
// Pending items also carry :PendingReview, and only they are indexed. `rank` is 0 - score:
// read ascending, (rank, a, b) is the queue's order (score descending, then the pair), so a
// page is a seek from its cursor that stops after its rows; by source under a source filter.
CREATE RANGE INDEX review_pending_rank IF NOT EXISTS
  FOR (r:PendingReview) ON (r.rank, r.a, r.b);
CREATE RANGE INDEX review_pending_source IF NOT EXISTS
  FOR (r:PendingReview) ON (r.source, r.rank, r.a, r.b);
// An existing graph keeps its queue: every possible-match link becomes a pending item with
// its score, its first source and when it was first seen. Not a schema statement but a data
// one, run like them in an auto-commit transaction of its own (which CALL ... IN
// TRANSACTIONS needs), in batches; MERGE makes a rerun harmless: an item already queued,
// decided or not, is left as it is.
MATCH (a:Identifier)-[l:LINKED {rule: 'possible_match'}]->(b:Identifier)
CALL (a, l, b) {
  MERGE (r:ReviewItem {a: a.key, b: b.key})
  ON CREATE SET r:PendingReview, r.score = coalesce(l.score, 0.0),
    r.rank = 0.0 - coalesce(l.score, 0.0), r.queued_at = l.first_seen,
    r.source = coalesce(reduce(m = null, s IN l.sources |
      CASE WHEN m IS NULL OR s < m THEN s ELSE m END), '')
} IN TRANSACTIONS OF 10000 ROWS;
