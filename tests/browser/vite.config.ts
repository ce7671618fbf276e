import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

// `@/` is the page's src/, as in the reference's frontend (`@/components/...`), but for
// `@/convex/_generated/api`: the platform's own generated files at the repository's root
// (`one codegen`), whose `convex/server` import resolves to this page's own `convex` (dedupe).
export default defineConfig({
  resolve: {
    alias: [
      { find: "@/convex", replacement: fileURLToPath(new URL("../../convex", import.meta.url)) },
      { find: "@", replacement: fileURLToPath(new URL("./src", import.meta.url)) },
    ],
    dedupe: ["convex"],
  },
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false },
  logLevel: "warn",
});
