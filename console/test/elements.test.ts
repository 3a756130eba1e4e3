import { describe, expect, it } from "vitest";
import type { Link } from "../src/api/queries";
import { graphElements, kindClass, linkKey, nodeId, pairKey } from "../src/graph/elements";

const email = { kind: "email", value: "mia@northwind.org" };
const phone = { kind: "phone", value: "+442071838750" };
const cookie = { kind: "anonymous_id", value: "a-1" };
const other = { kind: "customer_id", value: "C-2" };

function link(a: typeof email, b: typeof email, rule: string, extra: Partial<Link> = {}): Link {
  return {
    a, b, rule, isActive: true, inactiveReason: null, score: null, sources: ["web"],
    firstSeen: "2026-01-01T00:00:00Z", lastSeen: "2026-01-01T00:00:00Z", eventCount: 1, comparison: null, ...extra,
  };
}

const classes = (elements: ReturnType<typeof graphElements>, ref: { kind: string; value: string }) =>
  (elements.find((e) => e.data.id === nodeId(ref))?.classes as string).split(" ");

describe("the profile's picture", () => {
  it("draws members, links by rule and strength, and an outsider held apart dashed", () => {
    const elements = graphElements({
      members: [email, phone, cookie],
      links: [
        link(email, cookie, "same_event"),
        link(email, phone, "probabilistic", { score: 0.98 }),
        link(phone, other, "vetoed", { isActive: false, inactiveReason: "never-link rule twins" }),
      ],
    });
    expect(elements.filter((e) => e.group === "nodes")).toHaveLength(4);
    expect(classes(elements, other)).toContain("outside");
    expect(classes(elements, email)).toEqual(["kind-email"]);
    const vetoed = elements.find((e) => e.data.source === nodeId(phone) && e.data.target === nodeId(other));
    expect(vetoed?.classes).toContain("inactive");
    expect(vetoed?.data.label).toBe("never-link rule twins");
    const scored = elements.find((e) => e.data.label === "probabilistic 98.0%");
    expect(scored?.data.width).toBeCloseTo(1.5 + 4.5 * 0.98);
  });

  it("keeps one edge per link whichever way its ends come", () => {
    const elements = graphElements({ members: [email, cookie], links: [link(email, cookie, "same_event"), link(cookie, email, "same_event")] });
    expect(elements.filter((e) => e.group === "edges")).toHaveLength(1);
    expect(linkKey(link(email, cookie, "x"))).toBe(linkKey(link(cookie, email, "x")));
  });

  it("marks a split preview's cut and parts, and the identifiers picked for the new side", () => {
    const elements = graphElements({
      members: [email, phone, cookie],
      links: [link(email, cookie, "same_event"), link(phone, email, "probabilistic", { score: 0.97 })],
      plan: {
        profileId: "p_1",
        cut: [link(email, phone, "probabilistic")],
        parts: [{ profileId: "p_1", identifiers: [email, cookie] }, { profileId: null, identifiers: [phone] }],
      },
      selected: new Set(["phone:+442071838750"]),
    });
    const edges = elements.filter((e) => e.group === "edges");
    expect(edges.filter((e) => (e.classes as string).includes("cut")).map((e) => e.data.label)).toEqual(["probabilistic 97.0%"]);
    expect(classes(elements, phone)).toEqual(["kind-phone", "selected-side", "part-1"]);
    expect(classes(elements, cookie)).toContain("part-0");
  });

  it("labels only what a colour cannot say: a scored link's strength, why one is held apart", () => {
    const elements = graphElements({ members: [email, cookie], links: [link(email, cookie, "same_event")] });
    expect(elements.find((e) => e.group === "edges")?.data.label).toBe("");
  });

  it("keeps ids apart whatever the values hold", () => {
    // A cookie whose value spells another node's or edge's id under a naive "kind:value|..."
    // scheme: each link and node keeps its own id.
    const tricky = { kind: "anonymous_id", value: "a|email:mia@northwind.org" };
    const plain = { kind: "anonymous_id", value: "a" };
    const elements = graphElements({
      members: [email, tricky, plain],
      links: [link(plain, email, "same_event"), link(tricky, email, "same_event")],
    });
    const ids = elements.map((e) => e.data.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(elements.filter((e) => e.group === "edges")).toHaveLength(2);
    expect(pairKey(plain, email)).not.toBe(pairKey(tricky, email));
  });

  it("draws every external system as one kind, and an unknown kind plainly", () => {
    expect(kindClass("external:crm")).toBe("kind-external");
    expect(kindClass("loyalty")).toBe("kind-other");
  });
});
