import { useCallback, useEffect, useRef, useState } from "react";
import { ApiError } from "../api/client";

export interface Async<T> {
  data: T | null;
  error: ApiError | null;
  loading: boolean;
  reload: () => void;
}

/** The answer of `load`, loaded again when `deps` change or on reload(); an answer that
 * comes back after a newer one was asked for is dropped. While it loads again the last
 * answer stays on screen, unless `keep` is false (whose answer it was may have changed). */
export function useAsync<T>(load: () => Promise<T>, deps: unknown[], { keep = true }: { keep?: boolean } = {}): Async<T> {
  const [state, setState] = useState<{ data: T | null; error: ApiError | null; loading: boolean }>({
    data: null, error: null, loading: true,
  });
  const [round, setRound] = useState(0);
  const latest = useRef(0);
  // `load` is a new closure at every render; `deps` say when it asks something new.
  const stable = useCallback(load, deps);
  useEffect(() => {
    const ask = ++latest.current;
    setState((s) => (keep ? { ...s, loading: true } : { data: null, error: null, loading: true }));
    stable().then(
      (data) => ask === latest.current && setState({ data, error: null, loading: false }),
      (error: unknown) => ask === latest.current && setState({ data: null, error: asApiError(error), loading: false }),
    );
  }, [stable, round, keep]);
  return { ...state, reload: () => setRound((r) => r + 1) };
}

export function asApiError(error: unknown): ApiError {
  return error instanceof ApiError ? error : new ApiError(String(error), 0);
}
