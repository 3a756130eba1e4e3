/** The console's pages as hash routes (#/profile/p_123), so the server serves one page and
 * a profile's address can be pasted into a ticket. What a steward searched for or asked to
 * explain (emails, phones, names) stays out of the address, and so out of the browser's
 * history file: it travels in the history entry's state, which back and forward restore. */

export type Route =
  | { page: "search"; query: string; by: string; kind: string }
  | { page: "profile"; id: string }
  | { page: "explain"; a: string; b: string }
  | { page: "review" }
  | { page: "audit"; profileId: string }
  | { page: "login" };

export const NAVIGATED = "identity:navigate";

export function parseRoute(hash: string): Route {
  const [path = "", queryString = ""] = hash.replace(/^#/, "").split("?", 2);
  const params = new URLSearchParams(queryString);
  const parts = path.split("/").filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  switch (parts[0]) {
    case "profile":
      if (parts[1]) return { page: "profile", id: parts[1] };
      break;
    case "explain":
      return { page: "explain", a: params.get("a") ?? "", b: params.get("b") ?? "" };
    case "review":
      return { page: "review" };
    case "audit":
      return { page: "audit", profileId: params.get("profile") ?? "" };
    case "login":
      return { page: "login" };
  }
  return { page: "search", query: params.get("q") ?? "", by: params.get("by") ?? "ANY", kind: params.get("kind") ?? "" };
}

/** The address of a route: profile and audit ids, never a searched value or identifier. */
export function href(route: Route): string {
  switch (route.page) {
    case "profile":
      return `#/profile/${encodeURIComponent(route.id)}`;
    case "explain":
      return "#/explain";
    case "review":
      return "#/review";
    case "audit":
      return route.profileId ? `#/audit?${new URLSearchParams({ profile: route.profileId })}` : "#/audit";
    case "login":
      return "#/login";
    case "search":
      return "#/";
  }
}

function isRoute(value: unknown): value is Route {
  return typeof value === "object" && value !== null && typeof (value as { page?: unknown }).page === "string";
}

/** The route on screen: the history entry's own (with what was searched), else the hash's. */
export function currentRoute(state: unknown = history.state, hash: string = location.hash): Route {
  const kept = (state as { route?: unknown } | null)?.route;
  if (isRoute(kept) && href(kept) === href(parseRoute(hash))) return kept;
  return parseRoute(hash);
}

/** Goes to `route` as a new history entry (back returns), telling the app. */
export function go(route: Route): void {
  history.pushState({ route }, "", href(route));
  window.dispatchEvent(new Event(NAVIGATED));
}
