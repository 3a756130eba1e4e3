import { useId, useState, type FormEvent } from "react";
import type { ApiError } from "../api/client";
import { ErrorNote } from "../components/Notes";
import { apiKey } from "../session";

/** The console has no accounts of its own: a steward signs in with an API key (`identity
 * keys create`), kept for this tab only and sent with every request, so the server's
 * scopes decide what the console can do. */
export function LoginPage({ refusal, onSignIn }: { refusal: ApiError | null; onSignIn: (key: string) => void }) {
  const [key, setKey] = useState("");
  const id = useId();
  function submit(event: FormEvent) {
    event.preventDefault();
    if (key.trim()) onSignIn(key.trim());
  }
  return (
    <main className="login" id="main">
      <h1>Identity console</h1>
      <form onSubmit={submit}>
        <label htmlFor={id}>API key</label>
        <input id={id} type="password" autoComplete="off" required value={key} placeholder="idk_…"
          onChange={(e) => setKey(e.target.value)} autoFocus />
        <p className="hint">
          Ask an administrator for a key (<code>identity keys create --name you --scopes profile:read,steward</code>).
          It is kept in this tab only and forgotten when the tab closes.
        </p>
        <button type="submit" className="primary">Sign in</button>
      </form>
      {/* No key yet: nothing was refused. A key tried and refused: the server's reason. */}
      {refusal && (apiKey() || !refusal.unauthenticated) ? <ErrorNote error={refusal} what="sign-in" /> : null}
    </main>
  );
}
