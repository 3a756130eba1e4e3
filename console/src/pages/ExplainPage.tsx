import { useId, useState, type FormEvent } from "react";
import { request } from "../api/client";
import { EXPLAIN, type Explanation, type IdentifierRef } from "../api/queries";
import { ComparisonTable } from "../components/ComparisonTable";
import { ErrorNote, Loading } from "../components/Notes";
import { useAsync } from "../components/useAsync";
import { BUILT_IN_KINDS, echoed, parseRef, percent, refText, when } from "../format";
import { RouteLink } from "../components/RouteLink";
import { go } from "../routing";

/** Why two identifiers are one person (the path of links, each probabilistic one field by
 * field against the thresholds) or are not (how their records compare now). */
export function ExplainPage({ a, b }: { a: string; b: string }) {
  const refA = parseRef(a);
  const refB = parseRef(b);
  const answer = useAsync(
    () => (refA && refB
      ? request<{ explain: Explanation }>(EXPLAIN, { a: refA, b: refB }).then((d) => d.explain)
      : Promise.resolve(null)),
    [a, b],
  );
  const [left, setLeft] = useState<IdentifierRef>(refA ?? { kind: "email", value: "" });
  const [right, setRight] = useState<IdentifierRef>(refB ?? { kind: "email", value: "" });

  function submit(event: FormEvent) {
    event.preventDefault();
    go({ page: "explain", a: refText({ kind: left.kind.trim(), value: left.value.trim() }), b: refText({ kind: right.kind.trim(), value: right.value.trim() }) });
  }

  const found = answer.data;
  return (
    <section aria-labelledby="explain-title">
      <h1 id="explain-title">Explain two identifiers</h1>
      <form className="explain-form" onSubmit={submit}>
        <IdentifierField legend="First identifier" value={left} onChange={setLeft} />
        <IdentifierField legend="Second identifier" value={right} onChange={setRight} />
        <button type="submit" className="primary">Explain</button>
      </form>
      {(a || b) && (!refA || !refB) && (
        <p className="note error" role="alert">Each identifier is a kind and a value (email:ann@example.org, external:crm:42); got {JSON.stringify(echoed(a))} and {JSON.stringify(echoed(b))}.</p>
      )}
      <ErrorNote error={answer.error} what="explain" />
      {answer.loading && refA && refB && <Loading what="the explanation" />}
      {found && <ExplanationView found={found} />}
    </section>
  );
}

function IdentifierField({ legend, value, onChange }: { legend: string; value: IdentifierRef; onChange: (v: IdentifierRef) => void }) {
  const id = useId();
  return (
    <fieldset>
      <legend>{legend}</legend>
      <label htmlFor={`${id}-kind`}>Kind</label>
      <input id={`${id}-kind`} required value={value.kind} list={`${id}-kinds`} onChange={(e) => onChange({ ...value, kind: e.target.value })} />
      <datalist id={`${id}-kinds`}>{BUILT_IN_KINDS.map((k) => <option key={k} value={k} />)}</datalist>
      <label htmlFor={`${id}-value`}>Value</label>
      <input id={`${id}-value`} required value={value.value} onChange={(e) => onChange({ ...value, value: e.target.value })} />
    </fieldset>
  );
}

function ProfileRef({ id }: { id: string | null }) {
  return id ? <RouteLink route={{ page: "profile", id }}>{id}</RouteLink> : <em>unknown (never seen)</em>;
}

function ExplanationView({ found }: { found: Explanation }) {
  const thresholds = { linkThreshold: found.linkThreshold, reviewThreshold: found.reviewThreshold };
  return (
    <div className="explanation">
      <p className="verdict" role="status">
        {found.sameProfile
          ? <>One person: <code>{refText(found.a)}</code> and <code>{refText(found.b)}</code> are both in profile <ProfileRef id={found.profileA} />, joined by {found.path.length} link{found.path.length === 1 ? "" : "s"}.</>
          : <>Two profiles: <code>{refText(found.a)}</code> is in <ProfileRef id={found.profileA} />, <code>{refText(found.b)}</code> in <ProfileRef id={found.profileB} />.</>}
        {found.comparison?.vetoedBy && <> Kept apart by the never-link rule <strong>{found.comparison.vetoedBy}</strong>, whatever their score.</>}
        {found.linkThreshold == null && " Matching is off on this server: only deterministic links join."}
      </p>
      {found.path.length > 0 && (
        <ol className="path" aria-label="The path of links">
          {found.path.map((link, i) => (
            <li key={i}>
              <p>
                <code>{refText(link.a)}</code> — <code>{refText(link.b)}</code>: <strong>{link.rule.replace(/_/g, " ")}</strong>
                {link.score != null && <>, match probability {percent(link.score)}</>}
                {" "}· {link.eventCount} event{link.eventCount === 1 ? "" : "s"} from {link.sources.join(", ") || "—"}, {when(link.firstSeen)} – {when(link.lastSeen)}
              </p>
              {link.comparison && <ComparisonTable score={link.comparison} caption={`Step ${i + 1}: the records compared`} {...thresholds} />}
            </li>
          ))}
        </ol>
      )}
      {found.comparison && <ComparisonTable score={found.comparison} caption="How their records compare under the match model now" {...thresholds} />}
    </div>
  );
}
