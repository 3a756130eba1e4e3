// The console and GraphiQL, built into the Python package so `identity serve` serves them
// at /console/ and /graphql with no CDN (docs/architecture.md, "Steward console").
import { resolve } from "node:path";

const here = import.meta.dirname;
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

export default defineConfig({
  base: "/console/",
  plugins: [react()],
  build: {
    outDir: resolve(here, "../src/identity/api/console/static"),
    emptyOutDir: true,
    chunkSizeWarningLimit: 2048,
    rollupOptions: {
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
