import { useState } from "react";
import { request } from "../api/client";
import { DECIDE_REVIEW, REVIEW_QUEUE, type ActionResult, type ReviewItem } from "../api/queries";
import { ActionDialog } from "../components/ActionDialog";
import { ComparisonTable } from "../components/ComparisonTable";
import { ErrorNote, Loading, Notice } from "../components/Notes";
import { Pager, useCursors } from "../components/Pager";
import { useAsync } from "../components/useAsync";
import { percent, refText } from "../format";
import { RouteLink } from "../components/RouteLink";

interface Queue {
  reviewQueue: { endCursor: string | null; items: ReviewItem[] };
}

/** Possible matches waiting for a steward, highest score first: compare, then accept (a
 * steward's link joins the two) or reject (a never-link keeps them apart). */
export function ReviewPage() {
  const cursors = useCursors();
  const [round, setRound] = useState(0);
  const [deciding, setDeciding] = useState<{ item: ReviewItem; accept: boolean } | null>(null);
  const [open, setOpen] = useState<number | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const after = cursors.after;
  const queue = useAsync(() => request<Queue>(REVIEW_QUEUE, { after, minScore: 0 }).then((d) => d.reviewQueue), [after, round]);

  return (
    <section aria-labelledby="review-title">
      <h1 id="review-title">Review queue</h1>
      <p>Possible matches, highest match probability first.</p>
      {done && <Notice>{done}</Notice>}
      <ErrorNote error={queue.error} what="review queue" />
      {queue.loading && !queue.data && <Loading what="the queue" />}
      {queue.data && queue.data.items.length === 0 && <p>Nothing waiting for review.</p>}
      {queue.data && queue.data.items.length > 0 && (
        <table className="review">
          <caption className="visually-hidden">Possible matches</caption>
          <thead>
            <tr><th scope="col" className="number">Score</th><th scope="col">First</th><th scope="col">Second</th>
              <th scope="col">Sources</th><th scope="col"><span className="visually-hidden">Decision</span></th></tr>
          </thead>
          <tbody>
            {queue.data.items.map((item, i) => {
              const pair = `${refText(item.link.a)} and ${refText(item.link.b)}`;
              return [
                <tr key={`${i}-row`}>
                  <td className="number">{percent(item.link.score)}</td>
                  <td><code>{refText(item.link.a)}</code><div><RouteLink className="id" route={{ page: "profile", id: item.profileA }}>{item.profileA}</RouteLink></div></td>
                  <td><code>{refText(item.link.b)}</code><div><RouteLink className="id" route={{ page: "profile", id: item.profileB }}>{item.profileB}</RouteLink></div></td>
                  <td>{item.link.sources.join(", ")}</td>
                  <td className="actions">
                    <button type="button" aria-expanded={open === i} onClick={() => setOpen(open === i ? null : i)} aria-label={`Compare ${pair}`}>Compare</button>
                    <button type="button" className="primary" onClick={() => setDeciding({ item, accept: true })} aria-label={`Accept ${pair}`}>Accept</button>
                    <button type="button" onClick={() => setDeciding({ item, accept: false })} aria-label={`Reject ${pair}`}>Reject</button>
                  </td>
                </tr>,
                open === i && item.link.comparison ? (
                  <tr key={`${i}-detail`}><td colSpan={5}><ComparisonTable score={item.link.comparison} caption={`${pair} compared`} /></td></tr>
                ) : null,
              ];
            })}
          </tbody>
        </table>
      )}
      {queue.data && (
        <Pager cursors={cursors} endCursor={queue.data.endCursor} />
      )}
      {deciding && (
        <ActionDialog title={deciding.accept ? "Accept the match" : "Reject the match"} submitLabel={deciding.accept ? "Accept" : "Reject"}
          onClose={() => setDeciding(null)}
          onSubmit={async ({ reason, actor }) => {
            const { item, accept } = deciding;
            const result = await request<{ decideReview: ActionResult }>(DECIDE_REVIEW, { a: item.link.a, b: item.link.b, accept, actor, reason });
            const r = result.decideReview;
            setDone(`${accept ? "Accepted" : "Rejected"} (${r.actionId}): ${r.profileIds.join(", ")}.`);
            setOpen(null);
            setRound((n) => n + 1);
          }}>
          <p>{deciding.accept
            ? "A steward's link joins the two profiles."
            : "A never-link keeps the two apart for good (undo from the audit log lifts it)."}</p>
          <p><code>{refText(deciding.item.link.a)}</code> and <code>{refText(deciding.item.link.b)}</code>, {percent(deciding.item.link.score)}</p>
        </ActionDialog>
      )}
    </section>
  );
}
