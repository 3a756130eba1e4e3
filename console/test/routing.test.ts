import { describe, expect, it } from "vitest";
import { currentRoute, href, parseRoute, type Route } from "../src/routing";

describe("routes", () => {
  const routes: Route[] = [
    { page: "search", query: "", by: "ANY", kind: "" },
    { page: "profile", id: "p_01/../x y" },
    { page: "explain", a: "", b: "" },
    { page: "review" },
    { page: "audit", profileId: "p_9" },
    { page: "audit", profileId: "" },
    { page: "login" },
  ];
  it.each(routes)("reads back what it writes: %o", (route) => {
    expect(parseRoute(href(route))).toEqual(route);
  });

  it("keeps what was searched or compared out of the address", () => {
    const searched: Route = { page: "search", query: "ann@northwind.org", by: "EMAIL", kind: "" };
    const compared: Route = { page: "explain", a: "email:ann@northwind.org", b: "phone:+442071838750" };
    expect(href(searched)).toBe("#/");
    expect(href(compared)).toBe("#/explain");
    // ...and back and forward restore it from the history entry's state.
    expect(currentRoute({ route: searched }, "#/")).toEqual(searched);
    expect(currentRoute({ route: compared }, "#/explain")).toEqual(compared);
    // A state that does not match the address (edited by hand) gives way to the address.
    expect(currentRoute({ route: searched }, "#/review")).toEqual({ page: "review" });
    expect(currentRoute(null, "#/")).toEqual({ page: "search", query: "", by: "ANY", kind: "" });
  });

  it("still reads a search or a pair from an address written by hand", () => {
    expect(parseRoute("#/?q=Ann&by=NAME")).toEqual({ page: "search", query: "Ann", by: "NAME", kind: "" });
    expect(parseRoute("#/explain?a=email%3Ax%40y.org&b=customer_id%3A1")).toEqual({ page: "explain", a: "email:x@y.org", b: "customer_id:1" });
  });

  it("reads an unknown or broken hash as the search page", () => {
    expect(parseRoute("#/nowhere")).toEqual({ page: "search", query: "", by: "ANY", kind: "" });
    expect(parseRoute("")).toEqual({ page: "search", query: "", by: "ANY", kind: "" });
    expect(parseRoute("#/profile/%E0%A4%A")).toEqual({ page: "profile", id: "%E0%A4%A" });
  });
});
