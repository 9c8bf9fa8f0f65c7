/**
 * The published types (dist/index.d.ts, built with `stripInternal`) are the
 * library's promise: a consumer compiles against them, and what forager
 * keeps for itself (the runtime's stores, bus, submit and ingest, the
 * options that inject them, a limiter of a type not exported, the concrete
 * store classes and the event bus, process-group bookkeeping, the state
 * write's fence) is not there. A small consumer file is type-checked
 * against dist/*.d.ts: the public lines compile, each internal or misspelt
 * member is an error on its line. And every type a public signature names
 * can be imported by name, so a consumer can write the types it implements
 * (an LlmProvider's messages, a Clock's timers) without copying them.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative, sep } from "node:path";
import ts from "typescript";
import { root } from "../helpers/modules-loaded.js";

const consumer = (index: string) => `import { AgentRuntime, ForagerError, TriggerError, ToolError, TriggerRefusedError, createLogger } from ${JSON.stringify(index)};
import type { EntryPointSpec, ExecuteOptions, RuntimeStats, WaitOptions } from ${JSON.stringify(index)};
import type { AttemptRecord, ChatMessage, Clock, ClockTimer, ExecuteGraph, ExecutionResult, LlmProvider, LlmRequest, LlmResponse, PruneOptions, PruneReport } from ${JSON.stringify(index)};
import type { RerunOutcome, SessionStore, StateStore, StateWriteOptions, SubscribeOptions, TokenUsage, ToolCall, ToolContext, ToolSpec } from ${JSON.stringify(index)};
import { FileSessionStore } from ${JSON.stringify(index)}; // INTERNAL
import { MemorySessionStore } from ${JSON.stringify(index)}; // INTERNAL
import { FileStateStore } from ${JSON.stringify(index)}; // INTERNAL
import { MemoryStateStore } from ${JSON.stringify(index)}; // INTERNAL
import { FileKeyStore } from ${JSON.stringify(index)}; // INTERNAL
import { MemoryKeyStore } from ${JSON.stringify(index)}; // INTERNAL
import { EventBus } from ${JSON.stringify(index)}; // INTERNAL
import type { KeyStore } from ${JSON.stringify(index)}; // INTERNAL
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
/** A provider written against the exported message types only. */
export class EchoProvider implements LlmProvider {
  readonly name = "echo";
  async complete(request: LlmRequest): Promise<LlmResponse> {
    const tools: ToolSpec[] = request.tools;
    const last: ChatMessage | undefined = request.messages.at(-1);
    const calls: ToolCall[] = last?.role === "assistant" ? (last.tool_calls ?? []) : [];
    const usage: TokenUsage = { input_tokens: request.messages.length, output_tokens: tools.length + calls.length };
    return { text: last?.content ?? "", tool_calls: calls, usage };
  }
}
export const clock: Clock = { now: () => 0, setTimeout: (): ClockTimer => ({}), clearTimeout: (_timer: ClockTimer) => undefined };
export const execute: ExecuteGraph = async (options: ExecuteOptions): Promise<ExecutionResult> => {
  const store: SessionStore | undefined = options.store;
  const state: StateStore = options.state;
  const write: StateWriteOptions = {};
  await state.write(options.agent.name, { seen: true }, write);
  const prune: PruneOptions = { agent: options.agent.name, keep: 10, dryRun: true };
  const report: PruneReport | undefined = await store?.prune(prune);
  const result = await store?.get(options.executionId);
  const attempts: AttemptRecord[] = result?.attempts ?? [];
  if (!result) throw new Error(String(report?.kept ?? attempts.length));
  return result;
};
export async function rerunAndWatch(): Promise<string> {
  const scope: SubscribeOptions = { scope: "cluster" };
  const off = runtime.subscribe(() => undefined, { types: ["execution_completed"] }, scope);
  const outcome: RerunOutcome | undefined = await runtime.rerun("e");
  off();
  return outcome?.rerun_of ?? "";
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
  ({} as SessionStore).recordProcessGroup, // INTERNAL
  ({} as SessionStore).releaseProcessGroup, // INTERNAL
  ({} as StateWriteOptions).fence, // INTERNAL
  ({} as ToolContext).trackProcessGroup, // INTERNAL
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
    assert.equal(expected.length, 24);
    for (const i of expected) assert.ok(byLine.has(i), `line ${i + 1} must not compile: ${lines[i]!.trim()}`);
    const unexpected = [...byLine].filter(([i]) => !expected.includes(i)).map(([i, m]) => `${i + 1}: ${lines[i]!.trim()} -> ${m.join("; ")}`);
    assert.deepEqual(unexpected, [], "the public use compiles");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/**
 * Named in a public signature but not exported, and why. The agent-file
 * types zod infers name the schema builders they come from (`AgentSchemas`,
 * `build` in config/schema): how the schema is built is not the promise,
 * the types it gives are. `LOG_LEVELS` is a value: `LogLevel` is its
 * `typeof`, and `LogLevel` is exported.
 */
const unnamedAllowed = (name: string, file: string) => (file.startsWith("config/schema") && ["AgentSchemas", "build"].includes(name)) || name === "LOG_LEVELS";

/**
 * Every declaration in dist/ that an exported declaration refers to (a
 * type reference, `extends`/`implements`, `typeof`, `import("...")`),
 * followed through what those refer to: by name, the file it is declared
 * in (relative to dist/), whether src/index.ts exports it, and the names
 * that refer to it.
 */
function referencedTypes(): Map<string, { file: string; exported: boolean; users: Set<string> }> {
  const dist = join(root, "dist");
  const index = join(dist, "index.d.ts");
  const program = ts.createProgram([index], {
    noEmit: true,
    target: ts.ScriptTarget.ES2023,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    types: [],
    skipLibCheck: true,
  });
  const checker = program.getTypeChecker();
  const indexFile = program.getSourceFile(index);
  assert.ok(indexFile, "dist/index.d.ts is in the program");
  const moduleSymbol = checker.getSymbolAtLocation(indexFile);
  assert.ok(moduleSymbol, "dist/index.d.ts is a module");
  const resolve = (symbol: ts.Symbol | undefined) => (symbol && symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol);
  const exported = new Set(checker.getExportsOfModule(moduleSymbol).map(resolve));
  const queue = [...exported].filter((s): s is ts.Symbol => s !== undefined);
  const seen = new Set<ts.Symbol>(queue);
  const referenced = new Map<string, { file: string; exported: boolean; users: Set<string> }>();
  const inDist = (node: ts.Node | undefined) => node !== undefined && node.getSourceFile().fileName.startsWith(dist);
  for (let symbol = queue.shift(); symbol; symbol = queue.shift()) {
    const user = symbol.getName();
    const visit = (node: ts.Node): void => {
      let target: ts.Symbol | undefined;
      if (ts.isTypeReferenceNode(node)) target = checker.getSymbolAtLocation(node.typeName);
      else if (ts.isExpressionWithTypeArguments(node)) target = checker.getSymbolAtLocation(node.expression);
      else if (ts.isTypeQueryNode(node)) target = checker.getSymbolAtLocation(node.exprName);
      else if (ts.isImportTypeNode(node) && node.qualifier) target = checker.getSymbolAtLocation(node.qualifier);
      target = resolve(target);
      const declaration = target?.getDeclarations()?.[0];
      if (target && declaration && !(target.flags & ts.SymbolFlags.TypeParameter) && inDist(declaration)) {
        const file = relative(dist, declaration.getSourceFile().fileName);
        const entry = referenced.get(target.getName()) ?? { file, exported: exported.has(target), users: new Set<string>() };
        referenced.set(target.getName(), entry);
        entry.users.add(user);
        if (!seen.has(target)) {
          seen.add(target);
          queue.push(target);
        }
      }
      ts.forEachChild(node, visit);
    };
    for (const declaration of symbol.getDeclarations() ?? []) if (inDist(declaration)) visit(declaration);
  }
  return referenced;
}

test("every type a public signature names is exported by name", () => {
  const referenced = referencedTypes();
  const missing = [...referenced]
    .filter(([name, { file, exported }]) => !exported && !unnamedAllowed(name, file))
    .map(([name, { file, users }]) => `${name} (dist/${file}, named by ${[...users].join(", ")})`);
  assert.deepEqual(missing, [], "export these from src/index.ts (type-only), each with a doc comment");
  // The walk follows references through the re-exports: a provider's reply names the tool calls in it.
  assert.ok(referenced.get("ToolCall")?.users.has("LlmResponse"), "LlmResponse's reference to ToolCall is seen");
});
