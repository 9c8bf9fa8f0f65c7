#!/usr/bin/env node
// V8 compiles the CLI's ~1 MB of bundled JavaScript on every start; a Node
// that can keep compiled code between runs (22.1 and later) does so, in its
// default folder under the OS temp folder (NODE_COMPILE_CACHE overrides it;
// NODE_DISABLE_COMPILE_CACHE=1 turns it off). Node 20 has no such cache and
// compiles as before. The CLI is imported after the cache is on, or its
// modules would be compiled first.
import module from "node:module";

try {
  module.enableCompileCache?.();
} catch {
  // A cache that cannot be used (read-only temp folder) only costs speed.
}
// Under -v/--verbose (or a debug LOG_LEVEL) stack traces point at src/, not at
// bundle chunks: source maps are turned on before the CLI is loaded, and only
// then, because reading them costs start-up time.
const debug = process.argv.some((arg) => arg === "-v" || arg === "--verbose" || /^-[a-z]*v/.test(arg)) ||
  /^(debug|trace)$/i.test(process.env.LOG_LEVEL ?? "");
if (debug) process.setSourceMapsEnabled(true);
const { main } = await import("../dist/bundle/cli.js");
main(process.argv.slice(2));
