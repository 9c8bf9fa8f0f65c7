/**
 * The graph executor: walks an agent's graph from an entry point to the
 * end for one execution, enforces limits, honours cancellation, publishes
 * events and keeps the execution's record in the session store.
 */
import { defaultEntryNode } from "../config/defaults.js";
import type { NodeDef } from "../config/schema.js";
import { terminalEventType } from "../events/terminal.js";
import { errorMessage } from "../errors.js";
import { toResult, type ExecutionError, type ExecutionRecord, type ExecutionResult, type ExecutionStatus } from "../result.js";
import { ExecutionRun } from "./context.js";
import { EdgeConditionError, EdgeTable } from "./edges.js";
import { ExecutionHalt, formatSeconds, type HaltInfo } from "./errors.js";
import { isStateKey, STATE_PREFIX } from "./outputs.js";
import { preview } from "./preview.js";
import { visitNode } from "./runner.js";
import type { ExecuteOptions } from "./types.js";

interface Outcome {
  status: ExecutionStatus;
  error: ExecutionError | null;
}

/** Runs one execution to its end and returns its result (SPEC section 7). Never rejects for a failed run. */
export async function executeGraph(options: ExecuteOptions): Promise<ExecutionResult> {
  const run = new ExecutionRun(options);
  const { agent, entryPoint, clock } = run;
  const startedMs = clock.now();
  const startedAt = new Date(startedMs).toISOString();
  const path: string[] = [];
  const store = options.store;

  const snapshot = (status: ExecutionStatus, error: ExecutionError | null, finishedMs: number | null): ExecutionRecord => {
    const record: ExecutionRecord = {
      schema_version: 1,
      execution_id: run.executionId,
      session_id: run.sessionId,
      agent: agent.name,
      entry_point: entryPoint.id,
      status,
      success: status === "completed",
      output: collectOutput(run),
      error,
      path: [...path],
      steps_executed: path.length,
      usage: { ...run.budget.usage },
      started_at: startedAt,
      finished_at: finishedMs === null ? null : new Date(finishedMs).toISOString(),
      duration_ms: finishedMs === null ? null : finishedMs - startedMs,
      input: run.input,
      queued_at: options.queuedAt ?? startedAt,
    };
    if (options.idempotencyKey !== undefined) record.idempotency_key = options.idempotencyKey;
    if (options.rerunOf !== undefined) record.rerun_of = options.rerunOf;
    return record;
  };

  run.emit("execution_started", {
    entry_node: entryPoint.entry_node,
    attempt: run.attempt,
    input: preview(run.input),
    ...(options.traceparent ? { traceparent: options.traceparent } : {}),
  });
  let outcome: Outcome | undefined;
  if (store && !options.recordedAtStart) {
    try {
      await store.save(snapshot("running", null, null));
    } catch (err) {
      run.noteStorageError(`could not save execution ${run.executionId}: ${errorMessage(err)}`);
      outcome = { status: "failed", error: { code: "storage_error", message: run.storageError!, node_id: null } };
    }
  }

  const onCancel = () => run.halt(cancelInfo(options.signal));
  const timeoutSeconds = options.limits?.timeout_seconds;
  let timer: ReturnType<typeof clock.setTimeout> | undefined;
  if (!outcome) {
    if (options.signal.aborted) onCancel();
    else options.signal.addEventListener("abort", onCancel, { once: true });
    if (timeoutSeconds !== undefined) {
      timer = clock.setTimeout(
        () =>
          run.halt({
            status: "timed_out",
            code: "timed_out",
            message: `execution timed out after ${formatSeconds(timeoutSeconds)} (${options.timeoutSource ?? "limits.timeout_seconds"})`,
          }),
        timeoutSeconds * 1000,
      );
    }
    try {
      outcome = await walk(run, options, path);
    } finally {
      options.signal.removeEventListener("abort", onCancel);
      if (timer !== undefined) clock.clearTimeout(timer);
      // Anything a node started and left behind is told to stop: nothing outlives the execution.
      if (!run.signal.aborted) run.controller.abort(new Error("execution finished"));
    }
  }

  if (outcome.status === "completed") outcome = checkGraphOutputs(run) ?? outcome;
  if (outcome.status === "completed" && run.storageError) {
    outcome = { status: "failed", error: { code: "storage_error", message: run.storageError, node_id: null } };
  }

  const finishedMs = clock.now();
  const result = snapshot(outcome.status, outcome.error, finishedMs);
  if (store) {
    await run.flushEvents();
    if (run.storageError && result.status === "completed") markStorageFailure(result, run.storageError);
    try {
      await store.save(result);
    } catch (err) {
      run.noteStorageError(`could not save execution ${run.executionId}: ${errorMessage(err)}`);
      markStorageFailure(result, run.storageError!);
    }
  }

  // The final event tells what is on disk, so it comes after the record is
  // saved: listeners never see "completed" for a run that then failed to save.
  run.emit(terminalEventType(result.status), {
    status: result.status,
    error: result.error,
    duration_ms: result.duration_ms,
    steps_executed: result.steps_executed,
    usage: result.usage,
    output: preview(result.output),
  });
  if (result.status === "failed" || result.status === "timed_out" || result.status === "budget_exceeded") {
    // Debug: whoever started the execution reports its end (run's summary and error line, serve's info log).
    run.logger.debug({ status: result.status, error: result.error }, "execution ended without success");
  }
  if (store) await run.flushEvents();
  return toResult(result);
}

function markStorageFailure(result: ExecutionRecord, message: string): void {
  result.status = "failed";
  result.success = false;
  result.error = { code: "storage_error", message, node_id: null };
}

async function walk(run: ExecutionRun, options: ExecuteOptions, path: string[]): Promise<Outcome> {
  const graph = run.agent.graph;
  const nodes = new Map<string, NodeDef>(graph.nodes.map((node) => [node.id, node]));
  const llmNodes = graph.nodes.filter((node) => node.type === "llm").map((node) => node.id);
  if (llmNodes.length > 0 && !options.llm) {
    return fail(
      "llm_unavailable",
      `the graph has llm nodes (${llmNodes.join(", ")}) but no LLM provider was given: add an \`llm:\` section to the agent file`,
    );
  }
  const edges = new EdgeTable(graph);
  const services = { llm: options.llm, tools: options.tools, functions: options.functions };
  const visits = new Map<string, number>();
  const entryId = run.entryPoint.entry_node ?? defaultEntryNode(graph);
  let node = nodes.get(entryId);
  if (!node) return fail("definition_error", `entry node "${entryId}" is not a node of the graph`);

  for (;;) {
    // Stopped between nodes: the error names the last node that ran, if any.
    if (run.halted) return haltOutcome(run.halted, path.at(-1) ?? null);
    if (run.storageError) return fail("storage_error", run.storageError);
    if (path.length >= graph.max_steps) {
      return fail(
        "max_steps_exceeded",
        `max_steps (${graph.max_steps}) exceeded: the execution visited ${path.length} nodes without reaching an end (next: "${node.id}")`,
        node.id,
      );
    }
    path.push(node.id);
    const visit = (visits.get(node.id) ?? 0) + 1;
    visits.set(node.id, visit);

    let visited;
    try {
      visited = await visitNode(run, node, visit, services);
    } catch (err) {
      if (err instanceof ExecutionHalt) return haltOutcome(run.halted ?? err.info, node.id);
      return fail("internal_error", `node "${node.id}": ${errorMessage(err)}`, node.id);
    }
    if (run.halted) return haltOutcome(run.halted, node.id);

    let edge;
    try {
      edge = edges.choose(node.id, visited.ok, () => run.scope());
    } catch (err) {
      if (err instanceof EdgeConditionError) return fail("condition_error", err.message, node.id);
      throw err;
    }
    if (!edge) {
      if (visited.ok) return { status: "completed", error: null };
      return fail(visited.failure.code, `node "${node.id}" failed: ${visited.failure.message}`, node.id);
    }
    run.emit(
      "edge_traversed",
      { from: edge.from, to: edge.to, condition: edge.condition, priority: edge.priority, ...(edge.when ? { when: edge.when } : {}) },
      node.id,
    );
    const next = nodes.get(edge.to);
    if (!next) return fail("definition_error", `edge ${edge.from} -> ${edge.to}: no node "${edge.to}"`, node.id);
    node = next;
  }
}

function fail(code: string, message: string, nodeId: string | null = null): Outcome {
  return { status: "failed", error: { code, message, node_id: nodeId } };
}

function haltOutcome(info: HaltInfo, currentNode: string | null): Outcome {
  const error: ExecutionError = { code: info.code, message: info.message, node_id: info.node_id ?? currentNode };
  if (info.reason !== undefined) error.reason = info.reason;
  return { status: info.status, error };
}

/** The cancel reason: the signal's string reason ("SIGINT", "shutdown", ...) or its Error's message. */
function cancelInfo(signal: AbortSignal): HaltInfo {
  const raw: unknown = signal.reason;
  let reason = "cancelled";
  if (typeof raw === "string" && raw) reason = raw;
  else if (raw instanceof Error && raw.message) reason = raw.message;
  return { status: "cancelled", code: "cancelled", message: `execution cancelled (${reason})`, reason };
}

/** The execution's output: the graph's `output_keys`, or every key written. */
function collectOutput(run: ExecutionRun): Record<string, unknown> {
  const declared = run.agent.graph.output_keys;
  const output: Record<string, unknown> = {};
  if (!declared) {
    for (const key of run.written) output[key] = run.memory[key];
    return output;
  }
  for (const key of declared) {
    const value = isStateKey(key) ? run.state[key.slice(STATE_PREFIX.length)] : run.memory[key];
    if (value !== undefined) output[key] = value;
  }
  return output;
}

/** A declared graph output key still missing at the end fails the run: an agent that did no work never exits 0. */
function checkGraphOutputs(run: ExecutionRun): Outcome | undefined {
  const graph = run.agent.graph;
  if (!graph.output_keys) return undefined;
  const output = collectOutput(run);
  const missing = graph.output_keys.filter(
    (key) => !graph.nullable_output_keys.includes(key) && (output[key] === undefined || output[key] === null),
  );
  if (missing.length === 0) return undefined;
  return fail(
    "output_missing",
    `the execution ended without setting graph output key${missing.length > 1 ? "s" : ""} ${missing.join(", ")} ` +
      `(declared in graph.output_keys; list optional ones in graph.nullable_output_keys)`,
  );
}

