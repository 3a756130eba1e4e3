/** How the picture draws each kind of identifier and each rule of link. */

import type { StylesheetJson } from "cytoscape";

export const KIND_STYLE: Record<string, { color: string; shape: string }> = {
  email: { color: "#2563eb", shape: "round-rectangle" },
  phone: { color: "#059669", shape: "diamond" },
  customer_id: { color: "#7c3aed", shape: "hexagon" },
  anonymous_id: { color: "#64748b", shape: "ellipse" },
  device_id: { color: "#0891b2", shape: "rectangle" },
  session_id: { color: "#94a3b8", shape: "ellipse" },
  order_id: { color: "#d97706", shape: "tag" },
  external: { color: "#be185d", shape: "octagon" },
  other: { color: "#475569", shape: "ellipse" },
};

export const RULE_COLOR: Record<string, string> = {
  same_event: "#334155",
  probabilistic: "#2563eb",
  possible_match: "#d97706",
  vetoed: "#dc2626",
  manual: "#059669",
  never_link: "#991b1b",
  unlinked: "#9f1239",
};

const PART_COLOR = ["#2563eb", "#db2777", "#16a34a", "#9333ea"];

export const GRAPH_STYLE: StylesheetJson = [
  {
    selector: "node",
    style: {
      label: "data(label)", "font-size": 11, "text-valign": "bottom", "text-margin-y": 4, "min-zoomed-font-size": 7,
      width: 22, height: 22, "border-width": 2, "border-color": "#fff", color: "#0f172a",
      "text-background-color": "#fff", "text-background-opacity": 0.8, "text-background-padding": "1px",
    },
  },
  ...Object.entries(KIND_STYLE).map(([kind, { color, shape }]) => ({
    selector: `node.kind-${kind}`,
    style: { "background-color": color, shape: shape as "ellipse" },
  })),
  { selector: "node.outside", style: { opacity: 0.55, "border-style": "dashed", "border-color": "#475569" } },
  ...PART_COLOR.map((color, index) => ({
    selector: `node.part-${index}`,
    style: { "border-width": 4, "border-color": color },
  })),
  { selector: "node.selected-side", style: { "overlay-color": "#db2777", "overlay-opacity": 0.25, "overlay-padding": 6 } },
  { selector: "node:selected", style: { "border-width": 4, "border-color": "#f59e0b" } },
  {
    selector: "edge",
    style: {
      width: "data(width)", "curve-style": "bezier", "line-color": "#334155", label: "data(label)",
      "font-size": 9, "text-rotation": "autorotate", "min-zoomed-font-size": 7, "text-background-color": "#fff",
      "text-background-opacity": 0.85, "text-background-padding": "1px", color: "#334155",
    },
  },
  ...Object.entries(RULE_COLOR).map(([rule, color]) => ({
    selector: `edge.rule-${rule}`,
    style: { "line-color": color, color },
  })),
  { selector: "edge.inactive", style: { "line-style": "dashed", "line-dash-pattern": [6, 4], opacity: 0.8, width: 1.5 } },
  {
    selector: "edge.cut",
    style: {
      "line-color": "#dc2626", "line-style": "dashed", "line-dash-pattern": [2, 3], width: 5, color: "#dc2626",
      "target-arrow-shape": "tee", "source-arrow-shape": "tee", "target-arrow-color": "#dc2626", "source-arrow-color": "#dc2626",
    },
  },
  { selector: "edge:selected", style: { "underlay-color": "#f59e0b", "underlay-opacity": 0.4, "underlay-padding": 4 } },
];
