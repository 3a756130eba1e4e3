// The audit log: one (:AuditEntry) per action on the graph, found by its action id and paged
// newest first by time (then action id), by actor or by action.
CREATE CONSTRAINT audit_entry_action_id IF NOT EXISTS
  FOR (e:AuditEntry) REQUIRE e.action_id IS UNIQUE;
CREATE INDEX audit_entry_at IF NOT EXISTS
  FOR (e:AuditEntry) ON (e.at);
CREATE INDEX audit_entry_actor_at IF NOT EXISTS
  FOR (e:AuditEntry) ON (e.actor, e.at);
CREATE INDEX audit_entry_action_at IF NOT EXISTS
  FOR (e:AuditEntry) ON (e.action, e.at);
// One (:AuditMention) per (profile, action): the audit log of one profile, newest first.
CREATE INDEX audit_mention_profile_at IF NOT EXISTS
  FOR (m:AuditMention) ON (m.profile_id, m.at);
// Profile versions: one (:ProfileVersion) per (profile, version); a version numbered twice
// fails the constraint, which the store reports as a conflict to retry.
CREATE CONSTRAINT profile_version_key IF NOT EXISTS
  FOR (v:ProfileVersion) REQUIRE (v.profile_id, v.version) IS UNIQUE;
