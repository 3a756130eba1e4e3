import { useEffect, useMemo, useState } from "react";
import { request, watch } from "../api/client";
import {
  AUDIT, CHANGES, ERASE, LATEST_POSITION, MERGE, PROFILE_PAGE, SPLIT, SPLIT_PREVIEW, UNLINK,
  type ActionResult, type AuditEntry, type Link, type ProfileChange, type ProfileGraph, type SplitPlan,
} from "../api/queries";
import { ActionDialog } from "../components/ActionDialog";
import { AuditEntries } from "../components/AuditEntries";
import { ComparisonTable } from "../components/ComparisonTable";
import { ErrorNote, Loading, Notice } from "../components/Notes";
import { asApiError, useAsync } from "../components/useAsync";
import { displayName, percent, refText, when } from "../format";
import { graphElements, linkKey, pairKey } from "../graph/elements";
import { GraphView } from "../graph/GraphView";
import { Consent } from "../profile/Consent";
import { GoldenRecord } from "../profile/GoldenRecord";
import { History } from "../profile/History";
import { Identifiers } from "../profile/Identifiers";
import { LinksTable } from "../profile/LinksTable";
import { href } from "../routing";
import { can, useViewer } from "../viewer";
import type { ApiError } from "../api/client";

// Past this many identifiers the picture is unreadable and slow to lay out: the tables stay.
const MAX_DRAWN = 400;

type Dialog = "merge" | "split" | "unlink" | "erase" | null;

export function ProfilePage({ id }: { id: string }) {
  const viewer = useViewer();
  const steward = can(viewer, "steward");
  const [round, setRound] = useState(0);
  const page = useAsync(() => request<ProfileGraph>(PROFILE_PAGE, { id }), [id, round]);
  const audit = useAsync(
    () => (steward
      ? request<{ auditLog: { entries: AuditEntry[] } }>(AUDIT, { filter: { profileId: id } }).then((d) => d.auditLog.entries)
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
  const [dialog, setDialog] = useState<Dialog>(null);
  const [done, setDone] = useState<string | null>(null);
  const [erased, setErased] = useState<string | null>(null);

  const profile = page.data?.profile ?? null;
  const profileId = profile?.id ?? null;

  // Live updates: changes to this profile from now on (from the feed's newest position, so
  // nothing already shown is replayed), each reloading the page.
  useEffect(() => {
    if (!profileId) return;
    let stop: (() => void) | null = null;
    let gone = false;
    request<{ latestChangePosition: string | null }>(LATEST_POSITION).then(({ latestChangePosition }) => {
      if (gone) return;
      stop = watch<{ profileChanges: ProfileChange }>(CHANGES, { ids: [profileId], after: latestChangePosition },
        ({ profileChanges: change }) => {
          const absorbed = change.kind === "MERGED" && change.absorbedIds.includes(profileId);
          if (change.kind === "ERASED") setLive({ text: `Erased at ${when(change.at)}.` });
          else if (absorbed) setLive({ text: `Merged into ${change.profileId} at ${when(change.at)}.`, survivor: change.profileId });
          else setLive({ text: `Updated live: ${change.kind.toLowerCase().replace("_", " ")} at ${when(change.at)}.` });
          setRound((r) => r + 1);
        },
        setLiveError);
    }, (error: unknown) => setLiveError(asApiError(error)));
    return () => { gone = true; stop?.(); };
  }, [profileId]);

  const links = useMemo(() => [...(page.data?.explainProfile?.steps ?? []), ...(page.data?.explainProfile?.blocked ?? [])], [page.data]);
  const members = useMemo(() => profile?.identifiers.flatMap((g) => g.identifiers.map((n) => ({ kind: n.kind, value: n.value }))) ?? [], [profile]);
  const elements = useMemo(() => graphElements({ members, links, plan, selected: picked }), [members, links, plan, picked]);
  const cut = useMemo(() => new Set(plan?.cut.map((l) => pairKey(l.a, l.b)) ?? []), [plan]);
  const link = links.find((l) => linkKey(l) === selectedLink) ?? null;

  if (erased) return <Notice>{erased}</Notice>;
  if (page.loading && !page.data) return <Loading what="the profile" />;
  if (page.error) return <ErrorNote error={page.error} what="the profile" />;
  if (!profile) return <p role="alert">No profile <code>{id}</code>: it was never created, or it was erased.</p>;

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

  function sides() {
    const chosen = members.filter((m) => picked.has(refText(m)));
    const rest = members.filter((m) => !picked.has(refText(m)));
    return [chosen, rest];
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
    setDone(`${what} (${result.actionId}): ${result.changes.map((c) => `${c.kind.toLowerCase()} ${c.profileId}`).join(", ") || "no change"}.`);
    setSplitting(false);
    setPicked(new Set());
    setPlan(null);
    setSelectedLink(null);
    setRound((r) => r + 1);
  }

  const name = displayName(profile.golden);
  return (
    <article className="profile" aria-labelledby="profile-title">
      <header className="profile-head">
        <h1 id="profile-title">{name} <span className="id">{profile.id}</span></h1>
        <p className="facts">
          created {when(profile.createdAt)} · seen {when(profile.firstSeen)} – {when(profile.lastSeen)} · version {profile.version}
          {" "}· {profile.orderCount} order{profile.orderCount === 1 ? "" : "s"}
          {profile.totalSpend.map((m) => ` · ${m.amount} ${m.currency}`)}
          {profile.unknownValueOrderCount > 0 && ` · ${profile.unknownValueOrderCount} of unknown value`}
        </p>
        {profile.requestedId !== profile.id && <Notice><code>{profile.requestedId}</code> was merged into this profile.</Notice>}
        {profile.mergedIds.length > 0 && <p className="facts">Merged into it: {profile.mergedIds.join(", ")}</p>}
        {profile.limitsReached.map((l) => (
          <Notice key={l.kind}>Limit reached: at most {l.limit} {l.kind} per profile; a link is held apart (a kiosk, a bot or a household?).</Notice>
        ))}
        {live && <p className="note live" role="status">{live.text} {live.survivor && <a href={href({ page: "profile", id: live.survivor })}>Open {live.survivor}</a>}</p>}
        <ErrorNote error={liveError} what="live updates" />
        {done && <Notice>{done}</Notice>}
        <div className="toolbar" role="toolbar" aria-label="Profile actions">
          {steward && <button type="button" onClick={() => setDialog("merge")}>Merge…</button>}
          {steward && !splitting && <button type="button" onClick={() => { setSplitting(true); setSelectedLink(null); }}>Split…</button>}
          {can(viewer, "admin") && <button type="button" className="danger" onClick={() => setDialog("erase")}>Erase…</button>}
          <a href={href({ page: "audit", profileId: profile.id })} hidden={!steward}>Full audit log</a>
        </div>
      </header>

      {splitting && (
        <section className="split-panel" aria-labelledby="split-title">
          <h2 id="split-title">Split this profile</h2>
          <p>Pick the identifiers to separate: click them on the graph or tick them in the list. {picked.size} picked.</p>
          <div className="buttons">
            <button type="button" className="primary" disabled={picked.size === 0 || picked.size === members.length} onClick={preview}>Preview split</button>
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
          {link && <LinkDetails link={link} steward={steward && !splitting} onUnlink={() => setDialog("unlink")} onClose={() => setSelectedLink(null)} />}
          <LinksTable links={links} selected={selectedLink} cut={cut} onSelect={setSelectedLink} />
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
        <ActionDialog title="Erase this person" submitLabel="Erase for good" danger confirmText={profile.id}
          onClose={() => setDialog(null)}
          onSubmit={async ({ reason }) => {
            const result = await request<{ eraseProfile: { actionId: string; identifiers: number; erasedIds: string[] } }>(
              ERASE, { id: profile.id, reason });
            setErased(`Erased ${result.eraseProfile.erasedIds.join(", ")}: ${result.eraseProfile.identifiers} identifiers are now suppressed at ingest (${result.eraseProfile.actionId}).`);
          }}>
          <p>Removes every identifier, link, event, version and cached copy of this person (GDPR Art. 17). It cannot be undone.</p>
        </ActionDialog>
      )}
    </article>
  );
}

function LinkDetails({ link, steward, onUnlink, onClose }: { link: Link; steward: boolean; onUnlink: () => void; onClose: () => void }) {
  return (
    <section className="link-details" aria-labelledby="link-title">
      <h3 id="link-title"><code>{refText(link.a)}</code> — <code>{refText(link.b)}</code></h3>
      <p>
        {link.rule.replace(/_/g, " ")}{link.score != null && `, match probability ${percent(link.score)}`};
        {link.isActive ? " active" : ` held apart: ${link.inactiveReason ?? link.rule}`}; from {link.sources.join(", ") || "—"};
        {" "}{link.eventCount} event{link.eventCount === 1 ? "" : "s"}, {when(link.firstSeen)} – {when(link.lastSeen)}
      </p>
      {link.comparison && <ComparisonTable score={link.comparison} caption="How the two records compare" />}
      <div className="buttons">
        <a href={href({ page: "explain", a: refText(link.a), b: refText(link.b) })}>Explain this pair</a>
        {steward && link.isActive && <button type="button" onClick={onUnlink}>Unlink…</button>}
        <button type="button" onClick={onClose}>Close</button>
      </div>
    </section>
  );
}

function MergeDialog({ id, onClose, onDone }: { id: string; onClose: () => void; onDone: (result: ActionResult) => void }) {
  const [others, setOthers] = useState("");
  const ids = others.split(/[\s,]+/).filter(Boolean);
  return (
    <ActionDialog title="Merge profiles" submitLabel="Merge" onClose={onClose}
      onSubmit={async ({ reason, actor }) => {
        if (ids.length === 0) throw new Error("name at least one other profile id");
        const result = await request<{ merge: ActionResult }>(MERGE, { ids: [id, ...ids], actor, reason });
        onDone(result.merge);
      }}>
      <label htmlFor="merge-others">Profile ids to merge into {id} (comma or space separated)</label>
      <input id="merge-others" value={others} onChange={(e) => setOthers(e.target.value)} required />
    </ActionDialog>
  );
}

