import { useState } from "react";
import { request } from "../api/client";
import { HISTORY, type ProfileVersion } from "../api/queries";
import { ErrorNote } from "../components/Notes";
import { useAsync } from "../components/useAsync";
import { refText, when } from "../format";

interface Page {
  profileHistory: { endCursor: number | null; versions: ProfileVersion[] } | null;
}

/** The profile's versions, oldest first, a page at a time: what changed and who did it. */
export function History({ id, version }: { id: string; version: number }) {
  const [pages, setPages] = useState(1);
  const history = useAsync(async () => {
    const versions: ProfileVersion[] = [];
    let after = 0;
    let more: number | null = null;
    for (let page = 0; page < pages; page++) {
      const found = (await request<Page>(HISTORY, { id, after })).profileHistory;
      if (!found) break;
      versions.push(...found.versions);
      more = found.endCursor;
      if (more == null) break;
      after = more;
    }
    return { versions, more };
  }, [id, version, pages]);
  return (
    <section aria-labelledby="history-title">
      <h2 id="history-title">History</h2>
      <ErrorNote error={history.error} what="history" />
      {history.data && (
        <ol className="history">
          {history.data.versions.map((v) => (
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
      {history.data?.more != null && <button type="button" onClick={() => setPages((p) => p + 1)}>More versions</button>}
    </section>
  );
}
