/**
 * The published types (dist/index.d.ts, built with `stripInternal`) are the
 * library's promise: a consumer compiles against them, and what forager
 * keeps for itself (the runtime's stores, bus, submit and ingest, the
 * options that inject them, a limiter of a type not exported) is not there.
 * A small consumer file is type-checked against dist/*.d.ts: the public
 * lines compile, each internal or misspelt member is an error on its line.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, sep } from "node:path";
import ts from "typescript";
import { root } from "../helpers/modules-loaded.js";

const consumer = (index: string) => `import { AgentRuntime, ForagerError, TriggerError, ToolError, TriggerRefusedError, createLogger } from ${JSON.stringify(index)};
import type { EntryPointSpec, ExecuteOptions, RuntimeStats, WaitOptions } from ${JSON.stringify(index)};
const runtime = new AgentRuntime({ storagePath: "/tmp/x" });
export async function publicUse(): Promise<number> {
  await runtime.start();
  const id = await runtime.trigger("default", { a: 1 }, { idempotencyKey: "k" });
  const wait: WaitOptions = { timeoutMs: 10 };
  await runtime.waitForCompletion(id, wait);
  const stats: RuntimeStats = await runtime.getStats();
  const spec: EntryPointSpec = { id: "x", triggerType: "timer", triggerConfig: { intervalMinutes: 5 } };
  runtime.registerEntryPoint(spec);
  createLogger({ format: "auto" }).info("hello");
  const errors: ForagerError[] = [new TriggerError("not_found", "m"), new ToolError("t", "m")];
  void TriggerRefusedError;
  return stats.active_executions + errors.length;
}
export const internals = [
  runtime.store, // INTERNAL
  runtime.bus, // INTERNAL
  runtime.keys, // INTERNAL
  runtime.stateStore, // INTERNAL
  runtime.submit, // INTERNAL
  runtime.ingest, // INTERNAL
  runtime.backend, // INTERNAL
  new AgentRuntime({ limiter: undefined }), // INTERNAL
  new AgentRuntime({ store: undefined }), // INTERNAL
  ({} as ExecuteOptions).functions, // INTERNAL
  ({} as RuntimeStats).uptimeSeconds, // INTERNAL
  ((spec: EntryPointSpec) => spec)({ id: "x", maxConcurent: 2 }), // INTERNAL
];
`;

test("dist/index.d.ts compiles for a consumer and leaves out every internal member", async () => {
  const dir = await mkdtemp(join(tmpdir(), "forager-public-types-"));
  try {
    const file = join(dir, "consumer.ts");
    const text = consumer(join(root, "dist", "index.js"));
    await writeFile(file, text);
    const program = ts.createProgram([file], {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2023,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      types: ["node"],
      typeRoots: [join(root, "node_modules", "@types")],
      // The published declarations themselves are checked too, not only their use.
      skipLibCheck: false,
      skipDefaultLibCheck: true,
    });
    // The consumer and every published declaration file are checked; the
    // declarations of Node and of dependencies are only read (checking all of
    // them cost most of this test's time, and they are not forager's).
    const published = join(root, "dist") + sep;
    const checked = program.getSourceFiles().filter((sf) => sf.fileName === file || sf.fileName.startsWith(published));
    assert.ok(checked.some((sf) => sf.fileName === join(root, "dist", "index.d.ts")), "dist/index.d.ts is part of the program");
    const diagnostics = [
      ...program.getOptionsDiagnostics(),
      ...program.getGlobalDiagnostics(),
      ...checked.flatMap((sf) => [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)]),
    ];
    const lines = text.split("\n");
    const byLine = new Map<number, string[]>();
    const elsewhere: string[] = [];
    for (const d of diagnostics) {
      const message = ts.flattenDiagnosticMessageText(d.messageText, " ");
      if (d.file?.fileName !== file || d.start === undefined) {
        elsewhere.push(`${d.file?.fileName ?? "?"}: ${message}`);
        continue;
      }
      const line = d.file.getLineAndCharacterOfPosition(d.start).line;
      byLine.set(line, [...(byLine.get(line) ?? []), message]);
    }
    assert.deepEqual(elsewhere, [], "the published declarations type-check");
    const expected = lines.flatMap((line, i) => (line.includes("// INTERNAL") ? [i] : []));
    assert.equal(expected.length, 12);
    for (const i of expected) assert.ok(byLine.has(i), `line ${i + 1} must not compile: ${lines[i]!.trim()}`);
    const unexpected = [...byLine].filter(([i]) => !expected.includes(i)).map(([i, m]) => `${i + 1}: ${lines[i]!.trim()} -> ${m.join("; ")}`);
    assert.deepEqual(unexpected, [], "the public use compiles");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
