// Bundles the CLI after `tsc`: one ESM graph of a few files instead of
// hundreds of small modules (zod, yaml, cel, commander and forager's own),
// which is most of what a short `forager run` spends starting up. The
// library entry (dist/index.js) stays the plain tsc output.
//
// Heavy and rarely used packages stay external and load lazily, as in the
// source: the AI SDK, the MCP SDK, and pino-pretty (CommonJS, loaded
// with require() on the first human-readable log line). pino is bundled;
// its worker transports, which need their own files, are never used.
import { build } from "esbuild";
import { rmSync } from "node:fs";
import { dirname, join } from "node:path";

// zod re-exports every translation of its messages (`z.locales`, about half
// of zod's size) although it only uses English, and forager words its own
// messages. Parsing 300 KB of unused translations on every start is the
// single largest avoidable cost of `forager validate`: the bundle keeps `en`.
const zodEnglishOnly = {
  name: "zod-english-only",
  setup(b) {
    // `.cjs` too: forager loads zod with require() on first use (src/config/schema.ts).
    b.onResolve({ filter: /^\.\.\/locales\/index\.c?js$/ }, (args) =>
      /[\\/]node_modules[\\/]zod[\\/]/.test(args.importer)
        ? { path: join(dirname(args.importer), "..", "locales", args.path.endsWith(".cjs") ? "index.cjs" : "index.js"), namespace: "zod-english-only" }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "zod-english-only" }, (args) => ({
      contents: `export { default as en } from "./en${args.path.endsWith(".cjs") ? ".cjs" : ".js"}";`,
      resolveDir: dirname(args.path),
      loader: "js",
    }));
  },
};

const outdir = new URL("../dist/bundle/", import.meta.url).pathname;
rmSync(outdir, { recursive: true, force: true });

await build({
  entryPoints: {
    cli: "dist/cli/main.js",
    // Function nodes' worker threads (src/graph/nodes/function-pool.ts):
    // started by path, so its own file beside the chunk that starts them.
    "function-worker": "dist/graph/nodes/function-worker.js",
  },
  outdir,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  // Linked maps (chained through tsc's own) let `-v` stack traces point at src/; Node reads them only when enabled.
  sourcemap: "linked",
  // Smaller text compiles faster at every start; names stay readable in stack traces.
  minifyWhitespace: true,
  minifySyntax: true,
  // Bundled CommonJS packages (commander) call require() for Node built-ins.
  banner: { js: 'import { createRequire as __foragerRequire } from "node:module"; const require = __foragerRequire(import.meta.url);' },
  logLevel: "warning",
  plugins: [zodEnglishOnly],
  external: [
    "ai",
    "@ai-sdk/*",
    "@modelcontextprotocol/*",
    // Loaded only when an OTLP endpoint is configured (src/telemetry/sdk.ts).
    "@opentelemetry/*",
    "pino-pretty",
    // The cluster backend (runtime.backend: redis) only: loaded on first use (src/storage/redis/connection.ts).
    "bullmq",
    "ioredis",
  ],
});
