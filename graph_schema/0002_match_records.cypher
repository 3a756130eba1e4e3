// Match records: the person traits of one event, hung on the event's anchor identifier.
CREATE CONSTRAINT match_record_id IF NOT EXISTS
  FOR (r:MatchRecord) REQUIRE r.record_id IS UNIQUE;
CREATE INDEX match_record_anchor IF NOT EXISTS
  FOR (r:MatchRecord) ON (r.anchor);
// Blocks: one node per blocking key, filing the records that share it, with a member count.
CREATE CONSTRAINT block_key IF NOT EXISTS
  FOR (b:Block) REQUIRE b.key IS UNIQUE;
// Possible matches are paged by rule.
CREATE INDEX linked_rule IF NOT EXISTS
  FOR ()-[l:LINKED]-() ON (l.rule);
