import { useEffect, useId, useRef, useState, type FormEvent, type ReactNode } from "react";
import type { ApiError } from "../api/client";
import { actorName, setActorName } from "../session";
import { useViewer } from "../viewer";
import { ErrorNote } from "./Notes";
import { asApiError } from "./useAsync";

export interface ActionInput {
  reason: string;
  actor: string;
}

interface Props {
  title: string;
  submitLabel: string;
  children?: ReactNode;
  /** The text a steward must type to go ahead (an erasure's profile id). */
  confirmText?: string;
  danger?: boolean;
  /** The action records the key alone (an erasure): no name to give. */
  noActor?: boolean;
  onSubmit: (input: ActionInput) => Promise<void>;
  onClose: () => void;
}

/** Every steward action asks for a reason (the audit log keeps it) and a name to record, in
 * a modal dialog: the browser's own <dialog> keeps focus inside and closes on Escape. */
export function ActionDialog({ title, submitLabel, children, confirmText, danger, noActor, onSubmit, onClose }: Props) {
  const viewer = useViewer();
  const dialog = useRef<HTMLDialogElement>(null);
  const [reason, setReason] = useState("");
  const [actor, setActor] = useState(actorName() ?? viewer.subject);
  const [typed, setTyped] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const id = useId();

  useEffect(() => {
    // Focus goes back where it was when the dialog closes, or to the page's content when
    // that button is gone (the action replaced it).
    const opener = document.activeElement as HTMLElement | null;
    const element = dialog.current;
    element?.showModal();
    return () => {
      element?.close();
      window.setTimeout(() => {
        if (opener?.isConnected) opener.focus();
        else document.getElementById("main")?.focus();
      }, 0);
    };
  }, []);

  const confirmed = confirmText === undefined || typed === confirmText;

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!confirmed || !reason.trim()) return;
    setBusy(true);
    setError(null);
    try {
      if (!noActor) setActorName(actor.trim());
      await onSubmit({ reason: reason.trim(), actor: actor.trim() });
      onClose();
    } catch (failure) {
      setError(asApiError(failure));
      setBusy(false);
    }
  }

  return (
    <dialog ref={dialog} className="action-dialog" aria-labelledby={`${id}-title`} onClose={onClose}
      onCancel={(event) => { if (busy) event.preventDefault(); }}>
      <form onSubmit={submit}>
        <h2 id={`${id}-title`}>{title}</h2>
        {children}
        <label htmlFor={`${id}-reason`}>Reason (kept in the audit log)</label>
        <textarea id={`${id}-reason`} required rows={3} maxLength={1000} value={reason}
          onChange={(e) => setReason(e.target.value)} autoFocus />
        {!noActor && (
          <>
            <label htmlFor={`${id}-actor`}>Recorded as</label>
            <input id={`${id}-actor`} required maxLength={200} value={actor} onChange={(e) => setActor(e.target.value)} />
          </>
        )}
        {confirmText !== undefined && (
          <>
            <label htmlFor={`${id}-confirm`}>Type <code>{confirmText}</code> to confirm</label>
            <input id={`${id}-confirm`} value={typed} autoComplete="off" spellCheck={false}
              onChange={(e) => setTyped(e.target.value)} aria-invalid={typed !== "" && !confirmed} />
          </>
        )}
        <ErrorNote error={error} />
        {!reason.trim() && <p className="hint">A reason is needed to go ahead.</p>}
        <div className="buttons">
          <button type="button" onClick={onClose} disabled={busy}>Cancel</button>
          <button type="submit" className={danger ? "danger" : "primary"} disabled={busy || !confirmed || !reason.trim()}>
            {busy ? "Working…" : submitLabel}
          </button>
        </div>
      </form>
    </dialog>
  );
}
