/** Who the console's key is, and what it may do: actions a key could not do are not shown
 * (the API would refuse them anyway; hiding them only spares the steward the refusal). */

import { createContext, useContext } from "react";
import type { Viewer } from "./api/queries";

export const ViewerContext = createContext<Viewer | null>(null);

export function useViewer(): Viewer {
  const viewer = useContext(ViewerContext);
  if (!viewer) throw new Error("useViewer outside the signed-in console");
  return viewer;
}

export function can(viewer: Viewer, scope: "profile:read" | "profile:read_pii" | "steward" | "admin" | "ingest"): boolean {
  return viewer.scopes.includes(scope) || viewer.scopes.includes("admin");
}
