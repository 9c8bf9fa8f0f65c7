#!/usr/bin/env node
// Under -v/--verbose (or a debug LOG_LEVEL) stack traces point at src/, not at
// bundle chunks: source maps are turned on before the CLI is loaded, and only
// then, because reading them costs start-up time.
const debug = process.argv.some((arg) => arg === "-v" || arg === "--verbose" || /^-[a-z]*v/.test(arg)) ||
  /^(debug|trace)$/i.test(process.env.LOG_LEVEL ?? "");
if (debug) process.setSourceMapsEnabled(true);
const { main } = await import("../dist/bundle/cli.js");
main(process.argv.slice(2));
