// Identifiers: one node per normalized (kind, value); `key` is "kind|value".
CREATE CONSTRAINT identifier_key IF NOT EXISTS
  FOR (n:Identifier) REQUIRE n.key IS UNIQUE;
// Members of a group are found by the group id they carry.
CREATE INDEX identifier_group IF NOT EXISTS
  FOR (n:Identifier) ON (n.group_id);
// Groups hold members; each carries the public id of its profile.
CREATE CONSTRAINT group_id IF NOT EXISTS
  FOR (g:Group) REQUIRE g.group_id IS UNIQUE;
CREATE CONSTRAINT group_profile IF NOT EXISTS
  FOR (g:Group) REQUIRE g.profile_id IS UNIQUE;
// Every public profile id ever handed out, with where a merged one points now.
CREATE CONSTRAINT profile_id IF NOT EXISTS
  FOR (p:Profile) REQUIRE p.profile_id IS UNIQUE;
CREATE INDEX profile_merged_into IF NOT EXISTS
  FOR (p:Profile) ON (p.merged_into);
// Events: idempotency by id, and the ones carrying traits or orders by their anchor.
CREATE CONSTRAINT event_id IF NOT EXISTS
  FOR (e:Event) REQUIRE e.event_id IS UNIQUE;
CREATE INDEX event_anchor IF NOT EXISTS
  FOR (e:Event) ON (e.anchor);
CREATE CONSTRAINT schema_migration IF NOT EXISTS
  FOR (m:SchemaMigration) REQUIRE m.version IS UNIQUE;
