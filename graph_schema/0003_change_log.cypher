// The change log (outbox): one (:Change) per profile change, found and ordered by position.
CREATE CONSTRAINT change_position IF NOT EXISTS
  FOR (c:Change) REQUIRE c.position IS UNIQUE;
// Two (:ChangeLog) nodes, made on first use: 'positions' hands out the next position
// (`last`), 'retention' records how far pruning went (`pruned_through`).
CREATE CONSTRAINT change_log_name IF NOT EXISTS
  FOR (l:ChangeLog) REQUIRE l.name IS UNIQUE;
