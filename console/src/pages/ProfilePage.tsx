import { useEffect, useMemo, useRef, useState } from "react";
import { request, watch } from "../api/client";
import {
  AUDIT, CHANGES, ERASE, LATEST_POSITION, MERGE, NOT_SHOWN, PROFILE_PAGE, SPLIT, SPLIT_PREVIEW, UNLINK,
  type ActionResult, type AuditEntry, type Link, type ProfileChange, type ProfileGraph, type SplitPlan,
} from "../api/queries";
import { ActionDialog } from "../components/ActionDialog";
import { AuditEntries } from "../components/AuditEntries";
import { ComparisonTable } from "../components/ComparisonTable";
import { ErrorNote, Loading, Notice } from "../components/Notes";
import { asApiError, useAsync } from "../components/useAsync";
import { displayName, identifierCount, percent, refText, when } from "../format";
import { baseKind, graphElements, linkKey, pairKey } from "../graph/elements";
import { GraphView } from "../graph/GraphView";
import { Consent } from "../profile/Consent";
import { GoldenRecord } from "../profile/GoldenRecord";
import { History } from "../profile/History";
import { Identifiers } from "../profile/Identifiers";
import { LinksTable } from "../profile/LinksTable";
import { RouteLink } from "../components/RouteLink";
import { go } from "../routing";
import { can, useViewer } from "../viewer";
import type { ApiError } from "../api/client";
import type { IdentifierRef } from "../api/queries";

// Past this many identifiers the picture is unreadable and slow to lay out: the tables stay.
const MAX_DRAWN = 400;
// Live changes within this long of each other reload the page once.
const LIVE_RELOAD_MS = 1500;
// A change this soon after the steward's own action is that action coming back: not news.
const OWN_ECHO_MS = 4000;
// The identifier a split keeps the rest with, when the steward picks none: the strongest.
const STRENGTH = ["customer_id", "email", "phone", "external", "device_id", "anonymous_id", "order_id", "session_id"];

function strength(ref: IdentifierRef): number {
  const at = STRENGTH.indexOf(baseKind(ref.kind));
  return at < 0 ? STRENGTH.length : at;
}


type Dialog = "merge" | "split" | "unlink" | "erase" | null;

export function ProfilePage({ id }: { id: string }) {
  const viewer = useViewer();
  const steward = can(viewer, "steward");
  const [round, setRound] = useState(0);
  const page = useAsync(() => request<ProfileGraph>(PROFILE_PAGE, { id }), [id, round]);
  const audit = useAsync(
    () => (steward
      ? request<{ auditLog: { entries: AuditEntry[] } }>(AUDIT, { filter: { profileId: id, excludeActions: NOT_SHOWN } })
        .then((d) => d.auditLog.entries)
      : Promise.resolve(null)),
    [id, round, steward],
  );
  const [live, setLive] = useState<{ text: string; survivor?: string } | null>(null);
  const [liveError, setLiveError] = useState<ApiError | null>(null);
  const [selectedLink, setSelectedLink] = useState<string | null>(null);
  const [splitting, setSplitting] = useState(false);
  const [picked, setPicked] = useState<Set<string>>(new Set());
  const [plan, setPlan] = useState<SplitPlan | null>(null);
  const [planError, setPlanError] = useState<ApiError | null>(null);
  const [keepWith, setKeepWith] = useState<string | null>(null);
  const [dialog, setDialog] = useState<Dialog>(null);
  const [done, setDone] = useState<{ text: string; profiles: string[] } | null>(null);
  const [erased, setErased] = useState<string | null>(null);
  const ownActionAt = useRef(0);

  const profile = page.data?.profile ?? null;
  const profileId = profile?.id ?? null;

  // Live updates: changes to this profile from now on (from the feed's newest position, so
  // nothing already shown is replayed). A burst of changes reloads the page once.
  useEffect(() => {
    if (!profileId) return;
    let stop: (() => void) | null = null;
    let gone = false;
    let pending: number | undefined;
    request<{ latestChangePosition: string | null }>(LATEST_POSITION).then(({ latestChangePosition }) => {
      if (gone) return;
      stop = watch<{ profileChanges: ProfileChange }>(CHANGES, { ids: [profileId], after: latestChangePosition },
        ({ profileChanges: change }) => {
          const absorbed = change.kind === "MERGED" && change.absorbedIds.includes(profileId);
          const echo = Date.now() - ownActionAt.current < OWN_ECHO_MS;
          if (change.kind === "ERASED") setLive({ text: `This profile was erased at ${when(change.at)}.` });
          else if (absorbed) setLive({ text: `Merged into ${change.profileId} at ${when(change.at)}.`, survivor: change.profileId });
          else if (!echo) setLive({ text: `Changed while you were looking (${change.kind.toLowerCase().replace("_", " ")}, ${when(change.at)}): reloaded.` });
          window.clearTimeout(pending);
          pending = window.setTimeout(() => setRound((r) => r + 1), LIVE_RELOAD_MS);
        },
        setLiveError);
    }, (error: unknown) => setLiveError(asApiError(error)));
    return () => { gone = true; window.clearTimeout(pending); stop?.(); };
  }, [profileId]);

  // The links that built it, then those held apart at it: each once, for the picture and the
  // table alike.
  const links = useMemo(() => {
    const once = new Map<string, Link>();
    for (const l of [...(page.data?.explainProfile?.steps ?? []), ...(page.data?.explainProfile?.blocked ?? [])]) {
      if (!once.has(linkKey(l))) once.set(linkKey(l), l);
    }
    return [...once.values()];
  }, [page.data]);
  const members = useMemo(() => profile?.identifiers.flatMap((g) => g.identifiers.map((n) => ({ kind: n.kind, value: n.value }))) ?? [], [profile]);
  const elements = useMemo(() => graphElements({ members, links, plan, selected: picked }), [members, links, plan, picked]);
  const cut = useMemo(() => new Set(plan?.cut.map((l) => pairKey(l.a, l.b)) ?? []), [plan]);
  const link = links.find((l) => linkKey(l) === selectedLink) ?? null;

  if (erased) {
    return (
      <section aria-labelledby="erased-title">
        <h1 id="erased-title">Erased</h1>
        <p role="status">{erased}</p>
        <p><RouteLink route={{ page: "search", query: "", by: "ANY", kind: "" }}>Back to search</RouteLink></p>
      </section>
    );
  }
  if (page.loading && !page.data) return <Loading what="the profile" />;
  if (page.error) return <ErrorNote error={page.error} what="the profile" />;
  if (!profile) {
    return (
      <section aria-labelledby="missing-title">
        <h1 id="missing-title">No such profile</h1>
        <p role="alert">No profile <code>{id}</code>: it was never created, or it was erased. {live?.text}</p>
        <p><RouteLink route={{ page: "search", query: "", by: "ANY", kind: "" }}>Back to search</RouteLink></p>
      </section>
    );
  }
  const pii = can(viewer, "profile:read_pii");
  // Splitting and unlinking name identifiers, which a masked view cannot.
  const nameIdentifiers = steward && pii;

  function pick(ref: string) {
    if (!splitting || !members.some((m) => refText(m) === ref)) return;
    setPlan(null);
    setPicked((old) => {
      const next = new Set(old);
      if (next.has(ref)) next.delete(ref);
      else next.add(ref);
      return next;
    });
  }

  const rest = members.filter((m) => !picked.has(refText(m)));
  const anchor = rest.find((m) => refText(m) === keepWith) ?? [...rest].sort((x, y) => strength(x) - strength(y))[0] ?? null;

  /** The identifiers picked, and the one the rest stays with: the service keeps the two
   * apart for good and finds the weakest cut (the preview shows where the others go). */
  function sides() {
    return [members.filter((m) => picked.has(refText(m))), anchor ? [anchor] : []];
  }

  async function preview() {
    setPlanError(null);
    try {
      setPlan((await request<{ splitPreview: SplitPlan }>(SPLIT_PREVIEW, { id: profile!.id, sides: sides() })).splitPreview);
    } catch (error) {
      setPlanError(asApiError(error));
    }
  }

  function finished(what: string, result: ActionResult) {
    ownActionAt.current = Date.now();
    setDone({ text: `${what} (${result.actionId}).`, profiles: result.profileIds });
    setSplitting(false);
    setPicked(new Set());
    setPlan(null);
    setSelectedLink(null);
    const survivor = result.profileIds[0];
    if (what === "Merged" && survivor && survivor !== profile!.id) go({ page: "profile", id: survivor });
    else setRound((r) => r + 1);
  }

  const name = displayName(profile.golden);
  return (
    <article className="profile" aria-labelledby="profile-title">
      <header className="profile-head">
        <h1 id="profile-title">{name} <span className="id">{profile.id}</span></h1>
        <p className="facts">
          created {when(profile.createdAt)} · seen {when(profile.firstSeen)} – {when(profile.lastSeen)} · version {profile.version}
          {profile.updatedAt && `, changed ${when(profile.updatedAt)}`}
          {" "}· {profile.orderCount} order{profile.orderCount === 1 ? "" : "s"}
          {profile.totalSpend.map((m) => ` · ${m.amount} ${m.currency}`)}
          {profile.unknownValueOrderCount > 0 && ` · ${profile.unknownValueOrderCount} of unknown value`}
        </p>
        {profile.requestedId !== profile.id && <Notice><code>{profile.requestedId}</code> was merged into this profile.</Notice>}
        {profile.mergedIds.length > 0 && <p className="facts">Merged into it (each still leads here): {profile.mergedIds.join(", ")}</p>}
        {profile.limitsReached.map((l) => (
          <Notice key={l.kind}>Limit reached: at most {l.limit} {l.kind} per profile; a link is held apart (a kiosk, a bot or a household?).</Notice>
        ))}
        {live && <p className="note live" role="status">{live.text} {live.survivor && <RouteLink route={{ page: "profile", id: live.survivor }}>Open {live.survivor}</RouteLink>}</p>}
        <ErrorNote error={liveError} what="live updates" />
        {done && (
          <Notice>
            {done.text} {done.profiles.length > 0 && <>Profiles now: {done.profiles.map((p, i) => (
              <span key={p}>{i > 0 && ", "}{p === profile.id ? <strong>{p} (this one)</strong> : <RouteLink route={{ page: "profile", id: p }}>{p}</RouteLink>}</span>
            ))}.</>}
          </Notice>
        )}
        <div className="toolbar" role="toolbar" aria-label="Profile actions">
          {steward && <button type="button" onClick={() => setDialog("merge")}>Merge…</button>}
          {nameIdentifiers && !splitting && <button type="button" onClick={() => { setSplitting(true); setSelectedLink(null); }}>Split…</button>}
          {can(viewer, "admin") && <button type="button" className="danger" onClick={() => setDialog("erase")}>Erase…</button>}
          {steward && <RouteLink route={{ page: "audit", profileId: profile.id }}>Full audit log</RouteLink>}
          {steward && !pii && <span className="hint">Splitting and unlinking name identifiers: they need a key with profile:read_pii.</span>}
        </div>
      </header>

      {splitting && (
        <section className="split-panel" aria-labelledby="split-title">
          <h2 id="split-title">Split this profile</h2>
          <p>Pick the identifiers to separate: click them on the graph or tick them in the list. {picked.size} picked.
            {" "}They are kept apart for good from the identifier below; the preview shows where every other one goes.</p>
          {anchor && (
            <p>
              <label htmlFor="keep-with">Keep apart from</label>{" "}
              <select id="keep-with" value={refText(anchor)} onChange={(e) => { setKeepWith(e.target.value); setPlan(null); }}>
                {rest.map((m) => <option key={refText(m)} value={refText(m)}>{refText(m)}</option>)}
              </select>
            </p>
          )}
          <div className="buttons">
            <button type="button" className="primary" disabled={picked.size === 0 || anchor === null} onClick={preview}>Preview split</button>
            <button type="button" disabled={!plan} onClick={() => setDialog("split")}>Apply split…</button>
            <button type="button" onClick={() => { setSplitting(false); setPicked(new Set()); setPlan(null); }}>Cancel split</button>
          </div>
          <ErrorNote error={planError} what="split preview" />
          {plan && (
            <div className="plan" aria-live="polite">
              <p>The split cuts {plan.cut.length} link{plan.cut.length === 1 ? "" : "s"} (drawn red) and leaves {plan.parts.length} profiles:</p>
              <ol>
                {plan.parts.map((part, i) => (
                  <li key={i}><strong>{part.profileId ?? "a new profile"}</strong>: {part.identifiers.map(refText).join(", ")}</li>
                ))}
              </ol>
            </div>
          )}
        </section>
      )}

      <div className="columns">
        <div className="column-left">
          <GoldenRecord fields={profile.golden} />
          <Identifiers profile={profile} picked={splitting ? picked : undefined} onPick={splitting ? pick : undefined} />
          <Consent decisions={profile.consent} />
        </div>
        <div className="column-right">
          <h2>Graph</h2>
          {members.length <= MAX_DRAWN ? (
            <GraphView elements={elements}
              label={`The graph of ${members.length} identifiers and ${links.length} links; the links table below lists them`}
              onNodeTap={pick}
              onEdgeTap={(key) => setSelectedLink(key)} />
          ) : (
            <Notice>{members.length} identifiers: too many to draw; the tables list them.</Notice>
          )}
          {link && <LinkDetails link={link} steward={nameIdentifiers && !splitting} onUnlink={() => setDialog("unlink")} onClose={() => setSelectedLink(null)} />}
          <LinksTable links={links} selected={selectedLink} cut={cut} onSelect={setSelectedLink}
            onUnlink={nameIdentifiers && !splitting ? (key) => { setSelectedLink(key); setDialog("unlink"); } : undefined}
            explain={pii} />
        </div>
      </div>

      <History id={profile.id} version={profile.version} />
      {steward && (
        <section aria-labelledby="audit-title">
          <h2 id="audit-title">Audit log</h2>
          <ErrorNote error={audit.error} what="audit log" />
          {audit.data && <AuditEntries entries={audit.data} onChanged={() => setRound((r) => r + 1)} />}
        </section>
      )}

      {dialog === "merge" && (
        <MergeDialog id={profile.id} onClose={() => setDialog(null)} onDone={(r) => finished("Merged", r)} />
      )}
      {dialog === "split" && plan && (
        <ActionDialog title="Apply the split" submitLabel="Split" onClose={() => setDialog(null)}
          onSubmit={async ({ reason, actor }) => {
            const result = await request<{ split: ActionResult }>(SPLIT, { id: profile.id, sides: sides(), actor, reason });
            finished("Split", result.split);
          }}>
          <p>Cuts {plan.cut.length} link{plan.cut.length === 1 ? "" : "s"} into {plan.parts.length} profiles, kept apart for good (undo restores them).</p>
        </ActionDialog>
      )}
      {dialog === "unlink" && link && (
        <ActionDialog title="Unlink" submitLabel="Unlink" onClose={() => setDialog(null)}
          onSubmit={async ({ reason, actor }) => {
            const result = await request<{ unlink: ActionResult }>(UNLINK, { a: link.a, b: link.b, actor, reason });
            finished("Unlinked", result.unlink);
          }}>
          <p>No link between <code>{refText(link.a)}</code> and <code>{refText(link.b)}</code> will join any more; the profile splits if this link held it together.</p>
        </ActionDialog>
      )}
      {dialog === "erase" && (
        <ActionDialog title="Erase this person" submitLabel="Erase for good" danger confirmText={profile.id} noActor
          onClose={() => setDialog(null)}
          onSubmit={async ({ reason }) => {
            const result = await request<{ eraseProfile: { actionId: string; identifiers: number; erasedIds: string[] } }>(
              ERASE, { id: profile.id, reason });
            setErased(`Erased ${result.eraseProfile.erasedIds.join(", ")}: ${result.eraseProfile.identifiers} identifiers are now suppressed at ingest (${result.eraseProfile.actionId}).`);
          }}>
          <p>Removes <strong>{name}</strong> ({identifierCount(profile.identifiers)} identifiers, {profile.orderCount} orders{profile.mergedIds.length > 0 && `, and the ${profile.mergedIds.length} profiles merged into it`}): every identifier, link, event, version and cached copy (GDPR Art. 17), and refuses the identifiers at ingest from then on. It cannot be undone.</p>
        </ActionDialog>
      )}
    </article>
  );
}

function LinkDetails({ link, steward, onUnlink, onClose }: { link: Link; steward: boolean; onUnlink: () => void; onClose: () => void }) {
  const heading = useRef<HTMLHeadingElement>(null);
  // By its key: the same link in a reloaded page (a live update) keeps the focus where it is.
  const key = linkKey(link);
  useEffect(() => heading.current?.focus(), [key]);
  return (
    <section className="link-details" aria-labelledby="link-title">
      <h3 id="link-title" tabIndex={-1} ref={heading}><code>{refText(link.a)}</code> — <code>{refText(link.b)}</code></h3>
      <p>
        {link.rule.replace(/_/g, " ")}{link.score != null && `, match probability ${percent(link.score)}`};
        {link.isActive ? " active" : ` held apart: ${link.inactiveReason ?? link.rule}`}; from {link.sources.join(", ") || "—"};
        {" "}{link.eventCount} event{link.eventCount === 1 ? "" : "s"}, {when(link.firstSeen)} – {when(link.lastSeen)}
      </p>
      {link.comparison && <ComparisonTable score={link.comparison} caption="How the two records compare" />}
      <div className="buttons">
        {steward && <RouteLink route={{ page: "explain", a: refText(link.a), b: refText(link.b) }}>Explain this pair</RouteLink>}
        {steward && link.isActive && <button type="button" onClick={onUnlink}>Unlink…</button>}
        <button type="button" onClick={onClose}>Close</button>
      </div>
    </section>
  );
}

function MergeDialog({ id, onClose, onDone }: { id: string; onClose: () => void; onDone: (result: ActionResult) => void }) {
  const [others, setOthers] = useState("");
  const [override, setOverride] = useState(false);
  const ids = others.split(/[\s,]+/).filter(Boolean);
  return (
    <ActionDialog title="Merge profiles" submitLabel="Merge" onClose={onClose}
      onSubmit={async ({ reason, actor }) => {
        if (ids.length === 0) throw new Error("name at least one other profile id");
        const result = await request<{ merge: ActionResult }>(MERGE, { ids: [id, ...ids], actor, reason, override });
        onDone(result.merge);
      }}>
      <p>A steward's link joins this profile and the others; the service picks which id survives (the others keep leading to it), and undo from the audit log separates them again.</p>
      <label htmlFor="merge-others">Other profile ids (comma or space separated)</label>
      <input id="merge-others" value={others} onChange={(e) => setOthers(e.target.value)} required placeholder="prf_…" />
      <label>
        <input type="checkbox" checked={override} onChange={(e) => setOverride(e.target.checked)} />
        {" "}Override the per-profile limits (recorded in the audit log)
      </label>
    </ActionDialog>
  );
}
