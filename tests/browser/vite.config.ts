import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

// `@/` is the page's src/, as in the reference's frontend (`@/components/...`, `@/convex/_generated/api`).
export default defineConfig({
  resolve: { alias: { "@": fileURLToPath(new URL("./src", import.meta.url)) } },
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false },
  logLevel: "warn",
});
