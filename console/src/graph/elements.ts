/** A profile's graph as Cytoscape elements: identifiers as nodes (shaped and coloured by
 * kind), links as edges (by rule, wider the stronger, dashed when inactive and labelled with
 * what holds them apart), a split preview's cut and parts. Pure, so it is tested without a
 * browser. */

import type { ElementDefinition } from "cytoscape";
import type { IdentifierRef, Link, SplitPlan } from "../api/queries";
import { BUILT_IN_KINDS, percent, refText, short } from "../format";

// Drawn by kind: the built-in kinds, and every external:<system> as one.
const DRAWN_KINDS: readonly string[] = [...BUILT_IN_KINDS, "external"];

/** A kind with every external:<system> folded into one "external". */
export function baseKind(kind: string): string {
  return kind.startsWith("external:") ? "external" : kind;
}

/** The class a kind is drawn with: external:<system> are one kind on the picture. */
export function kindClass(kind: string): string {
  const base = baseKind(kind);
  return DRAWN_KINDS.includes(base) ? `kind-${base}` : "kind-other";
}

/** A node's id: kind and value as JSON, so no value (a cookie is any text a client sends,
 * "|" and ":" included) can spell another node's or an edge's id. */
export function nodeId(ref: IdentifierRef): string {
  return `n:${JSON.stringify([ref.kind, ref.value])}`;
}

function ends(a: IdentifierRef, b: IdentifierRef): [IdentifierRef, IdentifierRef] {
  return nodeId(a) <= nodeId(b) ? [a, b] : [b, a];
}

/** Ends only: the split preview's cut names the pair, whatever rule joined it. */
export function pairKey(a: IdentifierRef, b: IdentifierRef): string {
  const [x, y] = ends(a, b);
  return `p:${JSON.stringify([x.kind, x.value, y.kind, y.value])}`;
}

/** One key per link, whichever way round its ends are given. */
export function linkKey(link: Pick<Link, "a" | "b" | "rule">): string {
  const [x, y] = ends(link.a, link.b);
  return `e:${JSON.stringify([x.kind, x.value, y.kind, y.value, link.rule])}`;
}

/** What an edge says: why it is held apart, or a scored link's strength; a plain link of
 * its rule says nothing (its colour does), so a large profile is not a wall of "same event". */
function edgeLabel(link: Link): string {
  if (!link.isActive) return short(link.inactiveReason ?? `${link.rule} (inactive)`, 40);
  const rule = link.rule.replace(/_/g, " ");
  return link.score == null ? "" : `${rule} ${percent(link.score)}`;
}

export interface GraphInput {
  members: IdentifierRef[];
  links: Link[];
  plan?: SplitPlan | null;
  selected?: ReadonlySet<string>;
}

export function graphElements({ members, links, plan = null, selected = new Set() }: GraphInput): ElementDefinition[] {
  const inside = new Set(members.map(nodeId));
  const part = new Map<string, number>();
  plan?.parts.forEach((p, index) => p.identifiers.forEach((ref) => part.set(nodeId(ref), index)));
  const cut = new Set(plan?.cut.map((link) => pairKey(link.a, link.b)) ?? []);

  const nodes = new Map<string, ElementDefinition>();
  const addNode = (ref: IdentifierRef) => {
    const id = nodeId(ref);
    if (nodes.has(id)) return;
    const classes = [kindClass(ref.kind)];
    if (!inside.has(id)) classes.push("outside");
    if (selected.has(refText(ref))) classes.push("selected-side");
    const partIndex = part.get(id);
    if (partIndex !== undefined) classes.push(`part-${partIndex % 4}`);
    nodes.set(id, {
      group: "nodes",
      data: { id, kind: ref.kind, value: ref.value, ref: refText(ref), label: short(ref.value, 24), part: partIndex ?? null },
      classes: classes.join(" "),
    });
  };
  members.forEach(addNode);

  const edges = new Map<string, ElementDefinition>();
  for (const link of links) {
    const key = linkKey(link);
    if (edges.has(key)) continue;
    addNode(link.a);
    addNode(link.b);
    const classes = [`rule-${link.rule}`];
    if (!link.isActive) classes.push("inactive");
    if (cut.has(pairKey(link.a, link.b)) && link.isActive) classes.push("cut");
    edges.set(key, {
      group: "edges",
      data: {
        id: key,
        source: nodeId(link.a),
        target: nodeId(link.b),
        label: edgeLabel(link),
        width: link.score == null ? 3 : 1.5 + 4.5 * link.score,
      },
      classes: classes.join(" "),
    });
  }
  return [...nodes.values(), ...edges.values()];
}
