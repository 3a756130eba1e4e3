/** One way to ask the GraphQL API: `request` over HTTP, `watch` over its WebSocket. The
 * console uses the public API only, with the caller's key, so it can do nothing the key
 * could not do through any other client. */

import { createClient, type Client } from "graphql-ws";
import { apiKey, authorization } from "../session";

/** A refusal or an error from the API, with the HTTP status and the error code. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | null = null,
  ) {
    super(message);
    this.name = "ApiError";
  }

  get unauthenticated(): boolean {
    return this.status === 401 || this.code === "UNAUTHENTICATED";
  }

  get forbidden(): boolean {
    return this.status === 403 || this.code === "FORBIDDEN";
  }
}

/** Sent when the server refuses the key: the app asks who it is again (App.tsx). */
export const UNAUTHENTICATED = "identity:unauthenticated";

interface GraphQLErrorBody {
  message?: unknown;
  path?: unknown;
  extensions?: { code?: unknown };
}

/** The error a response carries, if any: what the server said, where, and its code. */
export function errorOf(status: number, body: unknown): ApiError | null {
  const errors = (body as { errors?: unknown } | null)?.errors;
  if (Array.isArray(errors) && errors.length > 0) {
    const first = errors[0] as GraphQLErrorBody;
    const code = typeof first.extensions?.code === "string" ? first.extensions.code : null;
    const messages = (errors as GraphQLErrorBody[]).map((e) => {
      const text = typeof e.message === "string" ? e.message : "unknown error";
      // Where, when deeper than the field the page asked for (which it names itself).
      const path = Array.isArray(e.path) && e.path.length > 1 ? ` (at ${e.path.join(".")})` : "";
      return text + path;
    });
    return new ApiError(messages.join("; "), status, code);
  }
  if (status >= 400) return new ApiError(`the server answered HTTP ${status}`, status);
  if ((body as { data?: unknown } | null)?.data == null) {
    return new ApiError("the server answered without data", status);
  }
  return null;
}

export async function request<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  let response: Response;
  try {
    response = await fetch("/graphql", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json", ...authorization() },
      body: JSON.stringify({ query, variables }),
    });
  } catch {
    throw new ApiError("the service cannot be reached", 0);
  }
  let body: unknown = null;
  try {
    body = await response.json();
  } catch {
    // A proxy's HTML error page, or an empty body: the status says what happened.
  }
  const error = errorOf(response.status, body);
  if (error?.unauthenticated) window.dispatchEvent(new Event(UNAUTHENTICATED));
  if (error) throw error;
  return (body as { data: T }).data;
}

let socket: { key: string | null; client: Client } | null = null;

function client(): Client {
  const key = apiKey();
  if (socket === null || socket.key !== key) {
    socket?.client.dispose();
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    socket = {
      key,
      client: createClient({
        url: `${scheme}//${location.host}/graphql`,
        // A browser cannot set headers on a WebSocket: the key goes in connection_init.
        connectionParams: () => authorization(key),
        lazy: true,
        retryAttempts: 5,
      }),
    };
  }
  return socket.client;
}

/** Runs `query` (a subscription) until the returned function is called. */
export function watch<T>(
  query: string,
  variables: Record<string, unknown>,
  onData: (data: T) => void,
  onError: (error: ApiError) => void,
): () => void {
  return client().subscribe<T>(
    { query, variables },
    {
      next: (result) => {
        if (result.errors?.length) onError(errorOf(200, result) ?? new ApiError("subscription failed", 200));
        else if (result.data) onData(result.data as T);
      },
      error: () => onError(new ApiError("live updates stopped: the connection was refused or lost", 0)),
      complete: () => undefined,
    },
  );
}
