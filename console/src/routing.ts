/** The console's pages as hash routes (#/profile/p_123), so the server serves one page and
 * a link to a profile can be pasted into a ticket. */

export type Route =
  | { page: "search"; query: string; by: string; kind: string }
  | { page: "profile"; id: string }
  | { page: "explain"; a: string; b: string }
  | { page: "review" }
  | { page: "audit"; profileId: string }
  | { page: "login" };

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

export function href(route: Route): string {
  switch (route.page) {
    case "profile":
      return `#/profile/${encodeURIComponent(route.id)}`;
    case "explain":
      return `#/explain?${new URLSearchParams({ a: route.a, b: route.b })}`;
    case "review":
      return "#/review";
    case "audit":
      return route.profileId ? `#/audit?${new URLSearchParams({ profile: route.profileId })}` : "#/audit";
    case "login":
      return "#/login";
    case "search": {
      const params = new URLSearchParams();
      if (route.query) params.set("q", route.query);
      if (route.by && route.by !== "ANY") params.set("by", route.by);
      if (route.kind) params.set("kind", route.kind);
      const text = params.toString();
      return text ? `#/?${text}` : "#/";
    }
  }
}

export function go(route: Route): void {
  location.hash = href(route);
}
