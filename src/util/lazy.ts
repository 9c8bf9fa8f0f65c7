/**
 * Heavy packages load on first use, not when a module that may need them is
 * imported: `import "forager"` (or a CLI command that never evaluates an
 * expression) must not pay for a CEL engine, a JSON Schema validator, a cron
 * parser or a logger it does not use.
 *
 * Each call site passes `() => typeof require === "function" ? require("pkg") : undefined`
 * with the package name written out: the CLI bundler (esbuild) sees that
 * literal `require` and puts the package in the bundle, evaluated on the
 * first call. Outside the bundle an ES module has no `require`, and Node's
 * own (which also loads ES modules, Node 20.19+) loads it from node_modules.
 */
import { createRequire } from "node:module";

const nodeRequire = createRequire(import.meta.url);

/** A getter that loads `name` once, on its first call. */
export function onFirstUse<T>(name: string, bundled: () => unknown): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= ((bundled() as T | undefined) ?? (nodeRequire(name) as T)));
}
