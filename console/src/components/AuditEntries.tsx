import { useState } from "react";
import { request } from "../api/client";
import { UNDO, type ActionResult, type AuditEntry } from "../api/queries";
import { when } from "../format";
import { RouteLink } from "./RouteLink";
import { can, useViewer } from "../viewer";
import { ActionDialog } from "./ActionDialog";
import { Notice } from "./Notes";

// The actions the service can undo (service/steward.py): the others show no button.
const UNDOABLE = new Set(["merge", "split", "unlink", "accept_review", "reject_review"]);

/** Audit log entries, newest first, each with Undo for a steward while it can be undone. */
export function AuditEntries({ entries, onChanged }: { entries: AuditEntry[]; onChanged: () => void }) {
  const viewer = useViewer();
  const [undoing, setUndoing] = useState<AuditEntry | null>(null);
  const [done, setDone] = useState<string | null>(null);
  if (entries.length === 0) return <p>No actions recorded.</p>;
  return (
    <>
      {done && <Notice>{done}</Notice>}
      <table className="audit">
        <caption className="visually-hidden">Audit log entries, newest first</caption>
        <thead>
          <tr><th scope="col">When</th><th scope="col">Action</th><th scope="col">By</th><th scope="col">Reason</th>
            <th scope="col">Profiles</th><th scope="col"><span className="visually-hidden">Undo</span></th></tr>
        </thead>
        <tbody>
          {entries.map((entry) => (
            <tr key={entry.actionId} className={entry.undoneBy ? "undone" : ""}>
              <td>{when(entry.at)}</td>
              <td>
                {entry.action.replace(/_/g, " ")} <code className="id">{entry.actionId}</code>
                {entry.undoOf && <div className="id">undoes {entry.undoOf}</div>}
              </td>
              <td>{entry.actor}</td>
              <td className="reason">{entry.reason}</td>
              <td>{entry.profileIds.map((id) => <div key={id}><RouteLink className="id" route={{ page: "profile", id }}>{id}</RouteLink></div>)}</td>
              <td>
                {entry.undoneBy ? <span className="badge">undone by {entry.undoneBy}</span>
                  : can(viewer, "steward") && UNDOABLE.has(entry.action) && (
                    <button type="button" onClick={() => setUndoing(entry)} aria-label={`Undo ${entry.action} ${entry.actionId}`}>Undo</button>
                  )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {undoing && (
        <ActionDialog title={`Undo the ${undoing.action.replace(/_/g, " ")} ${undoing.actionId}`} submitLabel="Undo"
          onClose={() => setUndoing(null)}
          onSubmit={async ({ reason, actor }) => {
            const result = await request<{ undo: ActionResult }>(UNDO, { actionId: undoing.actionId, actor, reason });
            setDone(`Undone (${result.undo.actionId}): profiles ${result.undo.profileIds.join(", ")}.`);
            onChanged();
          }}>
          <p>Restores the profiles exactly as they were before it, or says why it cannot.</p>
        </ActionDialog>
      )}
    </>
  );
}
