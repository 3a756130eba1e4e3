import { useEffect, useState } from "react";
import { request, type ApiError } from "../api/client";
import { HISTORY, type ProfileVersion } from "../api/queries";
import { ErrorNote } from "../components/Notes";
import { asApiError, useAsync } from "../components/useAsync";
import { refText, when } from "../format";

interface Page {
  profileHistory: { endCursor: number | null; versions: ProfileVersion[] } | null;
}

/** The profile's versions, oldest first, a page at a time: what changed and who did it.
 * The first page is read again when the profile changes; each further page once, when the
 * steward asks for it. */
export function History({ id, version }: { id: string; version: number }) {
  const first = useAsync(() => request<Page>(HISTORY, { id, after: 0 }).then((d) => d.profileHistory), [id, version]);
  const [later, setLater] = useState<{ versions: ProfileVersion[]; endCursor: number | null } | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  useEffect(() => setLater(null), [first.data]); // a new first page: the later ones are stale

  const versions = [...(first.data?.versions ?? []), ...(later?.versions ?? [])];
  const next = later ? later.endCursor : first.data?.endCursor ?? null;

  async function more() {
    if (next == null) return;
    setBusy(true);
    setError(null);
    try {
      const page = (await request<Page>(HISTORY, { id, after: next })).profileHistory;
      if (page) setLater((old) => ({ versions: [...(old?.versions ?? []), ...page.versions], endCursor: page.endCursor }));
    } catch (failure) {
      setError(asApiError(failure));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section aria-labelledby="history-title">
      <h2 id="history-title">History</h2>
      <ErrorNote error={first.error ?? error} what="history" />
      {first.data && (
        <ol className="history">
          {versions.map((v) => (
            <li key={v.version}>
              <strong>v{v.version}</strong> {when(v.at)} · {v.kind.replace(/_/g, " ")}
              {v.actor && <> by {v.actor}</>} <span className="id">({v.cause})</span>
              {v.related.length > 0 && <> · with {v.related.join(", ")}</>}
              {v.added.length > 0 && <div className="added">+ {v.added.map(refText).join(", ")}</div>}
              {v.removed.length > 0 && <div className="removed">− {v.removed.map(refText).join(", ")}</div>}
              {v.fieldChanges.map((c) => (
                <div key={c.name} className="field-change">{c.name}: {c.before ?? "∅"} → {c.after ?? "∅"}</div>
              ))}
            </li>
          ))}
        </ol>
      )}
      {next != null && <button type="button" disabled={busy} onClick={more}>{busy ? "Loading…" : "More versions"}</button>}
    </section>
  );
}
