// The console and GraphiQL, built into the Python package so `identity serve` serves them
// at /console/ and /graphql with no CDN (docs/architecture.md, "Steward console").
import { resolve } from "node:path";

const here = import.meta.dirname;
import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

export default defineConfig({
  base: "/console/",
  plugins: [react()],
  build: {
    outDir: resolve(here, "../src/identity/api/console/static"),
    emptyOutDir: true,
    chunkSizeWarningLimit: 2048,
    rollupOptions: {
      // GraphiQL's React compiler runtime says "use no memo" at module level, which a bundle
      // cannot keep; it is a hint for the compiler, not a behaviour.
      onwarn(warning, warn) {
        if (warning.code !== "MODULE_LEVEL_DIRECTIVE") warn(warning);
      },
      input: {
        console: resolve(here, "index.html"),
        graphiql: resolve(here, "graphiql.html"),
      },
    },
  },
  test: {
    include: ["test/**/*.test.ts"],
    environment: "node",
  },
});
