import type { ReactNode } from "react";
import type { ApiError } from "../api/client";

export function ErrorNote({ error, what }: { error: ApiError | null; what?: string }) {
  if (!error) return null;
  const lead = error.forbidden ? "Not allowed" : error.unauthenticated ? "Not signed in" : "Failed";
  return (
    <p className="note error" role="alert">
      <strong>{lead}{what ? ` (${what})` : ""}:</strong> {error.message}
    </p>
  );
}

export function Notice({ children }: { children: ReactNode }) {
  return <p className="note info" role="status">{children}</p>;
}

export function Loading({ what }: { what: string }) {
  return <p className="loading" aria-live="polite">Loading {what}…</p>;
}
