/**
 * One node visit: the `max_visits` check, attempts with retries and
 * backoff, the node's own timeout, and the node's events. Execution-level
 * stops (cancel, timeout, budget) pass through as ExecutionHalt.
 */
import type { NodeDef } from "../config/schema.js";
import { errorMessage } from "../errors.js";
import { rejectOnAbort, sleep } from "../util/abort.js";
import type { ExecutionRun } from "./context.js";
import { ExecutionHalt, NodeFailure, NodeTimeout } from "./errors.js";
import { writeNodeOutputs } from "./outputs.js";
import type { NodeContext, NodeResult, NodeServices } from "./nodes/context.js";
import { runFunctionNode } from "./nodes/function.js";
import { runLlmNode } from "./nodes/llm.js";
import { runToolNode } from "./nodes/tool.js";

export type VisitOutcome = { ok: true; outputs: string[] } | { ok: false; failure: NodeFailure };

/** Share of the backoff that is random, either way (±25%). */
const JITTER = 0.25;

export async function visitNode(run: ExecutionRun, node: NodeDef, visit: number, services: NodeServices): Promise<VisitOutcome> {
  const started = run.clock.now();
  run.emit("node_started", { type: node.type, visit }, node.id);
  if (node.max_visits > 0 && visit > node.max_visits) {
    const failure = new NodeFailure(`visited more than max_visits (${node.max_visits}) times`, "max_visits_exceeded");
    run.emit("node_failed", { error: failure.message, code: failure.code, attempt: 0, duration_ms: 0 }, node.id);
    return { ok: false, failure };
  }
  const logger = run.logger.child({ node_id: node.id });
  for (let attempt = 1; ; attempt++) {
    try {
      const outputs = await runAttempt(run, node, attempt, logger, services);
      run.emit("node_completed", { outputs, attempts: attempt, duration_ms: run.clock.now() - started }, node.id);
      return { ok: true, outputs };
    } catch (err) {
      if (run.halted) throw new ExecutionHalt(run.halted);
      if (err instanceof ExecutionHalt) throw err;
      const failure = err instanceof NodeFailure ? err : new NodeFailure(errorMessage(err), "node_failed", { cause: err });
      if (attempt <= node.max_retries) {
        const delayMs = backoffMs(node.retry_backoff, attempt);
        logger.warn({ attempt, err: failure.message, delay_ms: delayMs }, "node failed, retrying");
        run.emit("node_retry", { attempt: attempt + 1, error: failure.message, delay_ms: delayMs }, node.id);
        try {
          await sleep(delayMs, run.signal, run.clock);
        } catch {
          throw new ExecutionHalt(run.halted ?? { status: "cancelled", code: "cancelled", message: "execution stopped" });
        }
        continue;
      }
      // Debug, not warn: the node_failed event, the execution's end and the
      // result all carry this failure; a warning would say it once more.
      logger.debug({ attempt, err: failure.message }, "node failed");
      run.emit("node_failed", { error: failure.message, code: failure.code, attempt, duration_ms: run.clock.now() - started }, node.id);
      return { ok: false, failure };
    }
  }
}

/** `retry_backoff` seconds, doubling per attempt, ±25% jitter so retries of many executions spread out. */
function backoffMs(backoffSeconds: number, attempt: number): number {
  const base = backoffSeconds * 1000 * 2 ** (attempt - 1);
  return Math.round(base * (1 - JITTER + Math.random() * 2 * JITTER));
}

async function runAttempt(
  run: ExecutionRun,
  node: NodeDef,
  attempt: number,
  logger: NodeContext["logger"],
  services: NodeServices,
): Promise<string[]> {
  if (run.halted) throw new ExecutionHalt(run.halted);
  await run.refreshState();
  // A cancel or timeout that landed while the state was read has already fired: the node must not start.
  if (run.halted) throw new ExecutionHalt(run.halted);
  const controller = new AbortController();
  const parent = run.signal;
  const onParentAbort = () => controller.abort(parent.reason);
  parent.addEventListener("abort", onParentAbort, { once: true });
  const timeoutSeconds = node.timeout_seconds;
  const timer =
    timeoutSeconds === undefined
      ? undefined
      : run.clock.setTimeout(() => controller.abort(new NodeTimeout(timeoutSeconds)), timeoutSeconds * 1000);
  const aborted = rejectOnAbort(controller.signal);
  let stopped: Promise<void> | undefined;
  let settled = false;
  try {
    const ctx: NodeContext = { run, node, signal: controller.signal, scope: run.scope(node.input_keys), logger, attempt, services };
    const work = runBody(ctx);
    // When the abort wins the race, the body's own late rejection must not surface as unhandled.
    const onSettled = () => {
      settled = true;
    };
    stopped = work.then(onSettled, onSettled);
    const result = await Promise.race([work, aborted.promise]);
    if (controller.signal.aborted) throw controller.signal.reason;
    if ("written" in result) return result.written;
    return await writeNodeOutputs(run, node, result.values);
  } catch (err) {
    if (run.halted) throw new ExecutionHalt(run.halted);
    const reason: unknown = controller.signal.aborted ? controller.signal.reason : undefined;
    if (reason instanceof NodeTimeout) throw new NodeFailure(reason.message, "node_failed", { cause: reason });
    throw err;
  } finally {
    if (timer !== undefined) run.clock.clearTimeout(timer);
    parent.removeEventListener("abort", onParentAbort);
    aborted.dispose();
    // Whatever the node started and did not finish (a call that ignored the race) is told to stop.
    if (!controller.signal.aborted) controller.abort(new Error(`node "${node.id}" finished`));
    // The attempt ends when its code has really stopped, not when the abort fired: a retry, the
    // next node, or a cancel_previous successor never runs beside it (SPEC 4.1).
    if (stopped && !settled) await waitStopped(stopped, run, node, logger);
  }
}

/** Extra time past a node's kill grace for a terminated worker or a killed process group to be reaped. */
const STOP_MARGIN_MS = 3000;

/**
 * Waits for an aborted node body to settle. Function calls settle within
 * their kill grace (the worker is terminated) and shell tools once their
 * process group is gone (SIGKILL after theirs); the bound covers both, so
 * a body that ignores its signal cannot hold the execution forever.
 */
async function waitStopped(stopped: Promise<void>, run: ExecutionRun, node: NodeDef, logger: NodeContext["logger"]): Promise<void> {
  const boundMs = killGraceMs(run, node) + STOP_MARGIN_MS;
  let timer: NodeJS.Timeout | undefined;
  const late = await Promise.race([
    stopped.then(() => false),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), boundMs);
    }),
  ]);
  if (timer) clearTimeout(timer);
  if (late) logger.warn({ bound_ms: boundMs }, `node "${node.id}" did not stop within ${boundMs / 1000}s after it was told to; the execution goes on without it`);
}

/** The longest kill grace that can apply inside this node: its own (function) or that of a shell tool it may call. */
function killGraceMs(run: ExecutionRun, node: NodeDef): number {
  let seconds = 0;
  if (node.type === "function") seconds = node.kill_grace_seconds;
  else {
    const names = node.type === "tool" ? [node.tool] : node.tools;
    for (const name of names) {
      const tool = run.agent.tools[name];
      if (tool?.type === "shell") seconds = Math.max(seconds, tool.kill_grace_seconds);
    }
  }
  return seconds * 1000;
}

function runBody(ctx: NodeContext): Promise<NodeResult> {
  const node = ctx.node;
  switch (node.type) {
    case "tool":
      return runToolNode(ctx as NodeContext<typeof node>);
    case "function":
      return runFunctionNode(ctx as NodeContext<typeof node>);
    case "llm":
      return runLlmNode(ctx as NodeContext<typeof node>);
  }
}
