import { useState } from "react";

export interface Cursors {
  /** The cursor of the page on screen (null: the first). */
  after: string | null;
  /** Pages before this one: the cursors walked through to reach it. */
  depth: number;
  next: (endCursor: string | null) => void;
  back: () => void;
  restart: () => void;
}

/** The API's pages are cursors forward only: the way back is the cursors walked. */
export function useCursors(): Cursors {
  const [walked, setWalked] = useState<(string | null)[]>([null]);
  return {
    after: walked[walked.length - 1] ?? null,
    depth: walked.length - 1,
    next: (endCursor) => { if (endCursor) setWalked((w) => [...w, endCursor]); },
    back: () => setWalked((w) => (w.length > 1 ? w.slice(0, -1) : w)),
    restart: () => setWalked([null]),
  };
}

export function Pager({ cursors, endCursor, labels = ["Previous page", "Next page"] }: {
  cursors: Cursors; endCursor: string | null; labels?: [string, string];
}) {
  return (
    <div className="pager">
      <button type="button" disabled={cursors.depth === 0} onClick={cursors.back}>{labels[0]}</button>
      <span className="hint">page {cursors.depth + 1}</span>
      <button type="button" disabled={!endCursor} onClick={() => cursors.next(endCursor)}>{labels[1]}</button>
    </div>
  );
}
