// The import direction of DESIGN.md, checked on the real source: a lower
// layer never imports a higher one, and no module imports itself in a cycle.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { repoRoot } from "../helpers/paths.js";

const src = join(repoRoot, "src");

const LAYERS: Record<string, number> = {
  util: 0,
  "errors.ts": 0,
  "result.ts": 0,
  logging: 1,
  config: 2,
  expr: 2,
  events: 2,
  storage: 3,
  llm: 3,
  tools: 3,
  telemetry: 3,
  graph: 4,
  runtime: 5,
  server: 6,
  client: 6,
  cli: 7,
  "index.ts": 8,
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    return statSync(full).isDirectory() ? files(full) : full.endsWith(".ts") ? [full] : [];
  });
}

function area(file: string): string {
  return relative(src, file).split("/")[0]!;
}

function imports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const out: string[] = [];
  // Static imports/exports and dynamic import() of relative paths; type-only imports count too.
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)) {
    out.push(resolve(dirname(file), m[1]!.replace(/\.js$/, ".ts")));
  }
  return out;
}

const all = files(src);
const graph = new Map(all.map((f) => [f, imports(f)]));

test("every src area has a layer", () => {
  const unknown = [...new Set(all.map(area))].filter((a) => !(a in LAYERS));
  assert.deepEqual(unknown, []);
});

test("no module imports from a higher layer", () => {
  const violations: string[] = [];
  for (const [file, deps] of graph) {
    const from = area(file);
    for (const dep of deps) {
      const to = area(dep);
      if (to === from) continue;
      // client talks to the server over HTTP: it may use config types, errors, util only,
      // and the event shape (events/types.ts imports nothing: it is the SSE wire format).
      const wireTypes = dep === join(src, "events", "types.ts");
      if (from === "client" && !wireTypes && !["config", "errors.ts", "util", "result.ts"].includes(to)) {
        violations.push(`${relative(src, file)} -> ${relative(src, dep)}`);
        continue;
      }
      if (LAYERS[to]! > LAYERS[from]!) violations.push(`${relative(src, file)} -> ${relative(src, dep)}`);
    }
  }
  assert.deepEqual(violations, []);
});

test("no import cycles", () => {
  const state = new Map<string, "visiting" | "done">();
  const cycles: string[] = [];
  const visit = (file: string, stack: string[]) => {
    if (state.get(file) === "done") return;
    if (state.get(file) === "visiting") {
      cycles.push([...stack.slice(stack.indexOf(file)), file].map((f) => relative(src, f)).join(" -> "));
      return;
    }
    state.set(file, "visiting");
    for (const dep of graph.get(file) ?? []) if (graph.has(dep)) visit(dep, [...stack, file]);
    state.set(file, "done");
  };
  for (const file of graph.keys()) visit(file, []);
  assert.deepEqual(cycles, []);
});
