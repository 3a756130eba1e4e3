import cytoscape, { type Core, type ElementDefinition } from "cytoscape";
import { useEffect, useRef } from "react";
import { GRAPH_STYLE, KIND_STYLE, RULE_COLOR } from "./style";

interface Props {
  elements: ElementDefinition[];
  label: string;
  onNodeTap?: (id: string) => void;
  onEdgeTap?: (id: string) => void;
}

/** The whole graph in the frame; a small one no larger than life (fitted, six identifiers
 * would be drawn huge). A large one may come out small: its labels then hide (style.ts)
 * until the steward zooms in. */
function fitted(cy: Core): void {
  cy.fit(undefined, 40);
  if (cy.zoom() > 1.4) {
    cy.zoom(1.4);
    cy.center();
  }
}

/** The graph picture. Laid out again only when its nodes change, so picking identifiers or
 * previewing a split restyles the picture the steward is looking at without moving it. The
 * canvas cannot be read by a screen reader or a keyboard: the identifiers and links tables
 * beside it hold the same facts and actions. */
export function GraphView({ elements, label, onNodeTap, onEdgeTap }: Props) {
  const container = useRef<HTMLDivElement>(null);
  const graph = useRef<Core | null>(null);
  const taps = useRef({ onNodeTap, onEdgeTap });
  taps.current = { onNodeTap, onEdgeTap };

  useEffect(() => {
    const cy = cytoscape({
      container: container.current,
      style: GRAPH_STYLE,
      minZoom: 0.1,
      maxZoom: 3,
    });
    cy.on("tap", "node", (event) => taps.current.onNodeTap?.(event.target.data("ref")));
    cy.on("tap", "edge", (event) => taps.current.onEdgeTap?.(event.target.id()));
    graph.current = cy;
    return () => cy.destroy();
  }, []);

  useEffect(() => {
    const cy = graph.current;
    if (!cy) return;
    const wanted = new Set(elements.map((e) => e.data.id as string));
    const had = new Set(cy.elements().map((e) => e.id()));
    const sameShape = wanted.size === had.size && [...wanted].every((id) => had.has(id));
    if (sameShape) {
      cy.batch(() => {
        for (const element of elements) {
          const existing = cy.getElementById(element.data.id as string);
          existing.classes(element.classes as string);
          existing.data(element.data);
        }
      });
      return;
    }
    cy.elements().remove();
    cy.add(elements);
    cy.layout({
      name: "cose", animate: false, randomize: true, nodeDimensionsIncludeLabels: true,
      nodeRepulsion: () => 60_000, idealEdgeLength: () => 80, gravity: 0.4, componentSpacing: 80, padding: 40,
    }).run();
    fitted(cy);
  }, [elements]);

  const zoom = (factor: number) => {
    const cy = graph.current;
    if (cy) cy.zoom({ level: cy.zoom() * factor, renderedPosition: { x: cy.width() / 2, y: cy.height() / 2 } });
  };
  return (
    <figure className="graph">
      <div className="graph-tools" role="toolbar" aria-label="Graph view">
        <button type="button" onClick={() => graph.current && fitted(graph.current)}>Fit</button>
        <button type="button" onClick={() => zoom(1.25)} aria-label="Zoom in">+</button>
        <button type="button" onClick={() => zoom(0.8)} aria-label="Zoom out">−</button>
      </div>
      <div ref={container} className="graph-canvas" role="img" aria-label={label} data-testid="profile-graph" />
      <figcaption>
        <ul className="legend" aria-label="Legend">
          {Object.entries(KIND_STYLE).filter(([k]) => k !== "other").map(([kind, { color }]) => (
            <li key={kind}><span className="swatch" style={{ background: color }} />{kind.replace("_", " ")}</li>
          ))}
          {Object.entries(RULE_COLOR).map(([rule, color]) => (
            <li key={rule}><span className="line" style={{ borderColor: color }} />{rule.replace("_", " ")}</li>
          ))}
          <li><span className="line dashed" />inactive (held apart)</li>
          <li><span className="line cut" />cut by the split</li>
        </ul>
      </figcaption>
    </figure>
  );
}
