import { useState } from "react";
import { request } from "../api/client";
import { AUDIT, NOT_SHOWN, type AuditEntry } from "../api/queries";
import { AuditEntries } from "../components/AuditEntries";
import { ErrorNote, Loading } from "../components/Notes";
import { Pager, useCursors } from "../components/Pager";
import { useAsync } from "../components/useAsync";
import { RouteLink } from "../components/RouteLink";

interface Page {
  auditLog: { endCursor: string | null; entries: AuditEntry[] };
}

/** Every action on the graph, newest first, optionally for one profile; undo from here. */
export function AuditPage({ profileId }: { profileId: string }) {
  const cursors = useCursors();
  const [round, setRound] = useState(0);
  const [reads, setReads] = useState(false);
  const after = cursors.after;
  const page = useAsync(
    () => request<Page>(AUDIT, {
      filter: { profileId: profileId || null, excludeActions: reads ? [] : NOT_SHOWN }, after,
    }).then((d) => d.auditLog),
    [profileId, after, round, reads],
  );
  return (
    <section aria-labelledby="audit-page-title">
      <h1 id="audit-page-title">Audit log{profileId && <> of <RouteLink route={{ page: "profile", id: profileId }}>{profileId}</RouteLink></>}</h1>
      <label>
        <input type="checkbox" checked={reads} onChange={(e) => { setReads(e.target.checked); cursors.restart(); }} />
        {" "}Show reads of personal data
      </label>
      <ErrorNote error={page.error} what="audit log" />
      {page.loading && !page.data && <Loading what="the audit log" />}
      {page.data && <AuditEntries entries={page.data.entries} onChanged={() => setRound((n) => n + 1)} />}
      {page.data && (
        <Pager cursors={cursors} endCursor={page.data.endCursor} labels={["Newer", "Older"]} />
      )}
    </section>
  );
}
