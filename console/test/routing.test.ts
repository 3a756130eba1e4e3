import { describe, expect, it } from "vitest";
import { href, parseRoute, type Route } from "../src/routing";

describe("routes", () => {
  const routes: Route[] = [
    { page: "search", query: "Ann O'Neil & co", by: "NAME", kind: "" },
    { page: "search", query: "", by: "ANY", kind: "" },
    { page: "search", query: "C-1", by: "IDENTIFIER", kind: "external:crm" },
    { page: "profile", id: "p_01/../x y" },
    { page: "explain", a: "email:a@northwind.org", b: "external:crm:7" },
    { page: "review" },
    { page: "audit", profileId: "p_9" },
    { page: "audit", profileId: "" },
    { page: "login" },
  ];
  it.each(routes)("reads back what it writes: %o", (route) => {
    expect(parseRoute(href(route))).toEqual(route);
  });

  it("reads an unknown or broken hash as the search page", () => {
    expect(parseRoute("#/nowhere")).toEqual({ page: "search", query: "", by: "ANY", kind: "" });
    expect(parseRoute("")).toEqual({ page: "search", query: "", by: "ANY", kind: "" });
    expect(parseRoute("#/profile/%E0%A4%A")).toEqual({ page: "profile", id: "%E0%A4%A" });
  });
});
