/** `forager run <agent.yaml>`: one execution, an exit code CI can trust. */
import type { CliContext } from "../context.js";
import { UsageError } from "../../errors.js";
import { loadAgent, resolveStoragePath } from "../../config/index.js";
import { exitCodeForStatus } from "../../result.js";
import { isSecretName } from "../../logging/redact.js";
import { chooseEntryPoint, executionLimits, runOnce } from "../../runtime/run-once.js";
import { parseTimeoutFlag, readInputFlag } from "../input.js";
import { ansiPaint, describeFailure, formatSummary, plainPaint } from "../format-result.js";
import { Progress } from "../progress.js";
import { debugTrace } from "../debug-trace.js";
import type { ForagerEvent } from "../../events/types.js";
import type { Agent } from "../../config/schema.js";
import { ensureStorageFolder } from "../storage-check.js";
import { setsRuntimeKey } from "../../config/load.js";
import { dirname, resolve } from "node:path";
import { showsInfo } from "../log-settings.js";
import { checkEventFilters, skippedResult, type SkippedResult } from "../event-filter.js";
import { GROUP_END, groupStart, writeStepOutputs } from "../github-workflow.js";
import { appendStepSummary, errorAnnotation, inGitHubActions } from "../github-actions.js";
import { startRunTelemetry } from "../telemetry.js";
import { FunctionPool } from "../../graph/nodes/function-pool.js";

interface RunFlags {
  entry?: string;
  input?: string;
  timeout?: string;
  json?: boolean;
  streamJson?: boolean;
  storage?: string;
  record?: string;
  replay?: string;
}

/**
 * Under --replay no LLM call leaves the machine, so an API key the file
 * references (`${OPENAI_API_KEY}`) need not be set: unset secret-named
 * variables resolve to a placeholder instead of failing the load.
 */
function withReplayPlaceholders(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return new Proxy(env, {
    get: (target, name) =>
      typeof name === "string" && target[name] === undefined && isSecretName(name) ? REPLAY_PLACEHOLDER : Reflect.get(target, name),
    has: (target, name) => (typeof name === "string" && isSecretName(name)) || Reflect.has(target, name),
  });
}

const REPLAY_PLACEHOLDER = "unused-under-replay";

export async function runCommand(ctx: CliContext, args: unknown[], opts: Record<string, unknown>): Promise<number> {
  const flags = opts as RunFlags;
  const file = String(args[0]);
  if (flags.record && flags.replay) throw new UsageError("--record and --replay cannot be used together");
  if (flags.json && flags.streamJson) throw new UsageError("--json and --stream-json cannot be used together; pick one");
  const timeoutSeconds = parseTimeoutFlag(flags.timeout);
  const input = await readInputFlag(flags.input, ctx);
  const env = flags.replay ? withReplayPlaceholders(ctx.env) : ctx.env;
  // A worker thread takes tens of milliseconds to start: when the file has
  // function nodes, one starts as soon as the YAML is parsed, beside the
  // schema check and the storage set-up rather than after them.
  const functions = new FunctionPool();
  try {
    const agent = await loadAgent(file, { env, cwd: ctx.cwd, onData: (data) => hasFunctionNodes(data) && functions.prewarm() });
    return await runAgent(ctx, flags, file, agent, input, timeoutSeconds, functions);
  } finally {
    // runOnce closes the pool; this covers every way out before it (a bad file, a skipped run, a usage error).
    await functions.close();
  }
}

/** The file's data names a function node (before validation: any shape may be there). */
function hasFunctionNodes(data: Record<string, unknown>): boolean {
  const graph = data.graph as { nodes?: unknown } | null | undefined;
  return Array.isArray(graph?.nodes) && graph.nodes.some((node: unknown) => (node as { type?: unknown } | null)?.type === "function");
}

async function runAgent(
  ctx: CliContext,
  flags: RunFlags,
  file: string,
  agent: Agent,
  input: Record<string, unknown>,
  timeoutSeconds: number | undefined,
  functions: FunctionPool,
): Promise<number> {
  const storagePath = resolveStoragePath({
    flag: flags.storage,
    env: ctx.env,
    runtimeStoragePath: agent.runtime.storage_path,
    cwd: ctx.cwd,
  });
  ensureStorageFolder(storagePath);
  // The default ./storage is relative to where forager runs, not to the agent
  // file: when the two differ, say where the session went.
  if (!flags.storage && !ctx.env.FORAGER_STORAGE && setsRuntimeKey(agent, "storage_path") === false && dirname(resolve(ctx.cwd, file)) !== ctx.cwd) {
    ctx.say("info", `sessions go to ${storagePath} (./storage of the current folder; choose with --storage or FORAGER_STORAGE)`, { storage: storagePath });
  }

  const entryPoint = chooseEntryPoint(agent, flags.entry);
  const verdict = checkEventFilters(agent, entryPoint, input);
  if (verdict.kind === "skipped") return await reportSkipped(ctx, flags, skippedResult(agent, entryPoint, verdict.reason));
  if (verdict.kind === "unchecked") {
    ctx.logger().warn(`the input has no "event" object: the filters of event entry point ${entryPoint.id} were not checked`);
  }
  const timeout = executionLimits(agent, entryPoint, timeoutSeconds).timeout_seconds;

  const paint = ctx.color ? ansiPaint() : plainPaint;
  // Progress is info: -q and quieter levels hide it; JSON log mode gets it as JSON lines.
  const progress =
    ctx.stderrIsTTY && !flags.json && !flags.streamJson && showsInfo(ctx.logLevel) ? new Progress(ctx.stderr, paint) : undefined;
  const github = inGitHubActions(ctx.env);
  // In a GitHub Actions log the run's logs are folded in a group; the summary and the error line come after it.
  if (github) ctx.err(`${groupStart(`forager run ${agent.name} (${entryPoint.id})`)}\n`);
  // Nothing is loaded unless an OTLP endpoint is configured.
  const telemetry = await startRunTelemetry(ctx, timeout);
  const result = await runOnce({
    agent,
    entryPoint: flags.entry,
    input,
    storagePath,
    timeoutSeconds,
    record: flags.record,
    replay: flags.replay,
    signal: ctx.interrupt,
    logger: ctx.logger(),
    functions,
    onEvent: flags.streamJson
      ? // One line per event as it happens; the bus is drained before runOnce returns, so the result line comes last.
        (event) => ctx.out(`${JSON.stringify(event)}\n`)
      : combineHandlers(progress && ((event) => progress.onEvent(event)), ctx.verbose ? debugTrace(ctx.logger()) : undefined),
    ...telemetry?.runOptions,
  }).finally(async () => {
    await telemetry?.flush();
    if (github) ctx.err(`${GROUP_END}\n`);
  });

  if (flags.streamJson) ctx.out(`${JSON.stringify({ type: "result", ...result })}\n`);
  else if (flags.json) ctx.out(JSON.stringify(result, null, 2) + "\n");
  else ctx.out(formatSummary(result, ctx.stdoutIsTTY && ctx.color ? paint : plainPaint));

  if (inGitHubActions(ctx.env)) {
    await appendStepSummary(ctx.env, result).catch((err: unknown) =>
      ctx.logger().warn({ err }, "could not write the GitHub step summary"),
    );
    if (!result.success) ctx.err(errorAnnotation(result) + "\n");
    await writeRunOutputs(ctx, result);
  }
  if (!result.success) ctx.say("error", describeFailure(result), { status: result.status, execution_id: result.execution_id, node_id: result.error?.node_id ?? null });
  return exitCodeForStatus(result.status, result.error?.reason);
}

/** An event entry point's filter did not match the input: nothing ran, exit 0. */
async function reportSkipped(ctx: CliContext, flags: RunFlags, result: SkippedResult): Promise<number> {
  if (flags.streamJson) ctx.out(`${JSON.stringify({ type: "result", ...result })}\n`);
  else if (flags.json) ctx.out(`${JSON.stringify(result, null, 2)}\n`);
  else ctx.out(`skipped: ${result.agent} (${result.entry_point}) did not run: ${result.reason}\n`);
  if (inGitHubActions(ctx.env)) await writeRunOutputs(ctx, result);
  return 0;
}

/** SPEC 1: `status`, `execution_id`, `session_id` and `output` (JSON) as step outputs. */
async function writeRunOutputs(
  ctx: CliContext,
  result: { status: string; execution_id: string | null; session_id: string | null; output: Record<string, unknown> },
): Promise<void> {
  await writeStepOutputs(ctx.env, {
    status: result.status,
    execution_id: result.execution_id ?? "",
    session_id: result.session_id ?? "",
    output: JSON.stringify(result.output),
  }).catch((err: unknown) => ctx.logger().warn({ err }, "could not write the GitHub step outputs ($GITHUB_OUTPUT)"));
}

/** Both handlers, one, or none. */
function combineHandlers(
  a: ((event: ForagerEvent) => void) | undefined,
  b: ((event: ForagerEvent) => void) | undefined,
): ((event: ForagerEvent) => void) | undefined {
  if (a && b) return (event) => (a(event), b(event));
  return a ?? b;
}
