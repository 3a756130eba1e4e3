import { useId, useState, type FormEvent } from "react";
import { request } from "../api/client";
import { SEARCH, type SearchPage as Page } from "../api/queries";
import { ErrorNote, Loading, Notice } from "../components/Notes";
import { Pager, useCursors } from "../components/Pager";
import { useAsync } from "../components/useAsync";
import { BUILT_IN_KINDS, displayName, identifierCount, percent, when } from "../format";
import { RouteLink } from "../components/RouteLink";
import { go, type Route } from "../routing";

const BY = [
  ["ANY", "Anything"],
  ["NAME", "Name (fuzzy)"],
  ["EMAIL", "Email"],
  ["PHONE", "Phone"],
  ["IDENTIFIER", "Identifier of a kind"],
] as const;

/** Search by name, email, phone or any identifier. The query lives in the history entry
 * (not the address: routing.ts), so the browser's back button returns to the results. */
export function SearchPage({ route }: { route: Extract<Route, { page: "search" }> }) {
  const [query, setQuery] = useState(route.query);
  const [by, setBy] = useState(route.by);
  const [kind, setKind] = useState(route.kind);
  const cursors = useCursors();
  const id = useId();
  const after = cursors.after;
  const results = useAsync(
    () => (route.query
      ? request<{ search: Page }>(SEARCH, { query: route.query, by: route.by, kind: route.kind || null, after }).then((d) => d.search)
      : Promise.resolve(null)),
    [route.query, route.by, route.kind, after],
  );

  function submit(event: FormEvent) {
    event.preventDefault();
    cursors.restart();
    go({ page: "search", query: query.trim(), by, kind: by === "IDENTIFIER" ? kind.trim() : "" });
  }

  const page = results.data;
  return (
    <section aria-labelledby={`${id}-title`}>
      <h1 id={`${id}-title`}>Search profiles</h1>
      <form className="search-form" onSubmit={submit} role="search">
        <label htmlFor={`${id}-q`}>Name, email, phone or identifier</label>
        <input id={`${id}-q`} type="search" value={query} maxLength={256} required
          onChange={(e) => setQuery(e.target.value)} autoFocus />
        <label htmlFor={`${id}-by`}>Search by</label>
        <select id={`${id}-by`} value={by} onChange={(e) => setBy(e.target.value)}>
          {BY.map(([value, text]) => <option key={value} value={value}>{text}</option>)}
        </select>
        {by === "IDENTIFIER" && (
          <>
            <label htmlFor={`${id}-kind`}>Identifier kind</label>
            <input id={`${id}-kind`} value={kind} required placeholder="customer_id, external:crm, …"
              onChange={(e) => setKind(e.target.value)} list={`${id}-kinds`} />
            <datalist id={`${id}-kinds`}>
              {BUILT_IN_KINDS.map((k) => <option key={k} value={k} />)}
            </datalist>
          </>
        )}
        <button type="submit" className="primary">Search</button>
      </form>
      <ErrorNote error={results.error} what="search" />
      {results.loading && route.query && <Loading what="results" />}
      {page && (
        <>
          <p className="summary" role="status">
            {page.total === 0 ? "No profile found." : `${page.total} profile${page.total === 1 ? "" : "s"} found.`}
          </p>
          {page.notes.map((note) => <Notice key={note}>{note}</Notice>)}
          {page.skippedBlocks.length > 0 && (
            <Notice>Not searched (too common to read): {page.skippedBlocks.map((b) => `${b.key} (${b.size})`).join(", ")}</Notice>
          )}
          {page.items.length > 0 && (
            <table className="results">
              <caption className="visually-hidden">Profiles found, best first</caption>
              <thead>
                <tr><th scope="col">Profile</th><th scope="col">What matched</th><th scope="col" className="number">Score</th>
                  <th scope="col" className="number">Identifiers</th><th scope="col">Last changed</th></tr>
              </thead>
              <tbody>
                {page.items.map((item) => (
                  <tr key={item.profileId}>
                    <th scope="row">
                      <RouteLink route={{ page: "profile", id: item.profileId }}>{item.profile ? displayName(item.profile.golden) : item.profileId}</RouteLink>
                      <div className="id">{item.profileId}</div>
                    </th>
                    <td>
                      <ul className="matches">
                        {item.matches.map((m, i) => <li key={i}><span className="field">{m.field}</span> {m.value} <span className="how">({m.how})</span></li>)}
                      </ul>
                    </td>
                    <td className="number">{percent(item.score)}</td>
                    <td className="number">{item.profile ? identifierCount(item.profile.identifiers) : "—"}</td>
                    <td>{item.profile ? <>{when(item.profile.updatedAt ?? item.profile.lastSeen)} <span className="id">v{item.profile.version}</span></> : "—"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <Pager cursors={cursors} endCursor={page.endCursor} />
        </>
      )}
    </section>
  );
}
