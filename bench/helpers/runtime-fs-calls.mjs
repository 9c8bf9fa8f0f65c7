/**
 * Runs COUNT executions of the runtime scenario's 3-node function graph at
 * max_concurrent 10 with file storage in STORAGE (or in-memory stores when
 * STORAGE is "-"), then prints the rate. Meant to run under
 * `strace -c -f`: two runs with different counts, subtracted, give the
 * file-system calls per execution without the start-up's.
 *
 *   strace -c -f -o calls-200.txt node bench/helpers/runtime-fs-calls.mjs 200 /tmp/s1
 *   strace -c -f -o calls-2200.txt node bench/helpers/runtime-fs-calls.mjs 2200 /tmp/s2
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { STEP_SOURCE } from "../lib/agents.mjs";

const [countArg, storageArg] = process.argv.slice(2);
const count = Number(countArg);
if (!Number.isInteger(count) || count < 1 || !storageArg) {
  process.stderr.write("usage: node runtime-fs-calls.mjs COUNT STORAGE|-\n");
  process.exit(2);
}
const { AgentRuntime, loadAgent, silentLogger } = await import(pathToFileURL(join(import.meta.dirname, "..", "..", "dist", "index.js")).href);

const dir = await mkdtemp(join(tmpdir(), "forager-fs-calls-"));
await writeFile(join(dir, "step.mjs"), STEP_SOURCE);
const nodes = ["a", "b", "c"].map((id) => ({ id, type: "function", module: "step.mjs", output_keys: ["n"] }));
const file = join(dir, "chain.yaml");
await writeFile(
  file,
  JSON.stringify({
    name: "chain",
    graph: { max_steps: 5, output_keys: ["n"], nodes, edges: [{ from: "a", to: "b" }, { from: "b", to: "c" }] },
    entry_points: [{ id: "c10", trigger_type: "api", max_concurrent: 10, overlap: "queue", max_queued: 100_000 }],
  }),
);
const agent = await loadAgent(file, { env: {}, cwd: dir });
const runtime = new AgentRuntime({ agent, ...(storageArg === "-" ? {} : { storagePath: storageArg }), logger: silentLogger() });
await runtime.start();
let next = 0;
const started = performance.now();
await Promise.all(
  Array.from({ length: 10 }, async () => {
    while (next < count) {
      next++;
      const id = await runtime.trigger("c10", { i: next });
      const result = await runtime.waitForCompletion(id, { timeoutMs: 60_000 });
      if (result?.status !== "completed" || result.output?.n !== 3) throw new Error(`execution ${id} ended ${result?.status}: ${JSON.stringify(result?.error)}`);
    }
  }),
);
await runtime.store.flush();
const seconds = (performance.now() - started) / 1000;
await runtime.stop({ graceMs: 0 });
process.stdout.write(`${count} executions in ${seconds.toFixed(2)} s: ${(count / seconds).toFixed(0)} exec/s\n`);
