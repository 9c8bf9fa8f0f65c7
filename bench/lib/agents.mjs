/**
 * Generated agent files for the scenarios. JSON is YAML, so each agent is
 * written as JSON next to a trivial function module.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";

export const STEP_MODULE = "step.mjs";
export const STEP_SOURCE = [
  "// A trivial node: counts. Gate support lets a benchmark hold executions in flight:",
  "// function nodes run in worker threads, so the gate is a file the benchmark creates.",
  "import { existsSync } from \"node:fs\";",
  "export default function step({ memory }) { return { n: (memory.n ?? 0) + 1 }; }",
  "export async function gated() {",
  "  const gate = new URL(\"./gate.open\", import.meta.url);",
  "  while (!existsSync(gate)) await new Promise((resolve) => setTimeout(resolve, 20));",
  "  return { n: 1 };",
  "}",
  "",
].join("\n");

/** Opens the gate that `gated` executions of the agent in `dir` wait on. */
export async function openGate(dir) {
  await writeFile(join(dir, "gate.open"), "");
}

/** Writes step.mjs and `<name>.yaml` into `dir`; returns the agent file's path. */
export async function writeAgent(dir, agent) {
  await writeFile(join(dir, STEP_MODULE), STEP_SOURCE);
  const file = join(dir, `${agent.name}.yaml`);
  await writeFile(file, JSON.stringify(agent, null, 2));
  return file;
}

/** A one-node function graph; `entryPoints` are entry point definitions as in the file. */
export function oneNodeAgent(name, entryPoints, { exportName = "default", runtime } = {}) {
  return {
    name,
    graph: {
      max_steps: 5,
      output_keys: ["n"],
      nodes: [{ id: "count", type: "function", module: STEP_MODULE, export: exportName, output_keys: ["n"] }],
      edges: [],
    },
    entry_points: entryPoints,
    ...(runtime ? { runtime } : {}),
  };
}
