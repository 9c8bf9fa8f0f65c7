/**
 * Executions as traces, built from the event bus: the events already say
 * when an execution, a node visit, an LLM turn and a tool call start and
 * end, so the executor needs no tracing calls of its own. Spans take their
 * times from the events' timestamps (not from when the bus delivers them),
 * so a trace shows what happened even though delivery is asynchronous.
 *
 *   forager.execution <agent>/<entry_point>     one trace per execution
 *   └─ forager.node <node_id>                   one span per node visit
 *      ├─ chat <model>                          one span per LLM call (GenAI conventions)
 *      └─ execute_tool <tool>                   one span per tool call, MCP included
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span, type Tracer } from "@opentelemetry/api";
import { defaultTextMapGetter } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import type { ForagerEvent } from "../events/types.js";
import { scrubSecrets } from "../logging/index.js";
import type { LlmCallLog } from "./llm-calls.js";

export interface SpanBuilderOptions {
  /** Record prompts, completions, tool arguments and results (FORAGER_OTEL_CAPTURE_CONTENT=true). */
  captureContent: boolean;
  /** Executions tracked at once; past it the oldest is ended (an execution whose end was never seen). */
  maxOpen?: number;
  /** Prompts and failed calls recorded by the provider wrapper, when it is installed. */
  calls?: LlmCallLog;
}

interface OpenExecution {
  span: Span;
  context: Context;
  /** The open span of each node being visited, by node id. */
  nodes: Map<string, { span: Span; context: Context }>;
  /** Open tool spans by call id (llm nodes) or by node id and tool (tool nodes), oldest first. */
  tools: Map<string, Span[]>;
}

const propagator = new W3CTraceContextPropagator();
/** Longest string attribute forager writes: content previews are already cut shorter. */
const MAX_ATTRIBUTE = 8192;

const TERMINAL = new Set(["execution_completed", "execution_failed", "execution_cancelled"]);

export class SpanBuilder {
  private readonly open = new Map<string, OpenExecution>();
  private readonly maxOpen: number;

  constructor(
    private readonly tracer: Tracer,
    private readonly options: SpanBuilderOptions,
  ) {
    this.maxOpen = options.maxOpen ?? 10_000;
  }

  /** Handles one bus event; events of other kinds are ignored. */
  observe(event: ForagerEvent): void {
    const id = event.execution_id;
    if (!id) return;
    if (event.type === "execution_started") return this.startExecution(id, event);
    if (TERMINAL.has(event.type)) return this.endExecution(id, event);
    const execution = this.open.get(id);
    if (!execution) return;
    switch (event.type) {
      case "node_started":
        return this.startNode(execution, event);
      case "node_completed":
      case "node_failed":
        return this.endNode(execution, event);
      case "node_retry":
        this.failedLlmCalls(execution, event);
        this.nodeOf(execution, event)?.span.addEvent("retry", attrs({ "forager.node.attempt": num(event.data.attempt), "forager.node.error": text(event.data.error) }), time(event));
        return;
      case "llm_turn_complete":
        return this.llmCall(execution, event);
      case "tool_call_started":
        return this.startTool(execution, event);
      case "tool_call_completed":
        return this.endTool(execution, event);
      case "budget_exceeded":
        execution.span.addEvent("budget_exceeded", attrs({ "forager.limit": text(event.data.limit) }), time(event));
        return;
      default:
        return;
    }
  }

  /** Ends every open span (at shutdown): what was not seen to finish is marked incomplete. */
  endAll(): void {
    for (const [id, execution] of this.open) {
      this.closeChildren(execution, Date.now(), undefined);
      execution.span.setAttribute("forager.incomplete", true);
      execution.span.end();
      this.open.delete(id);
    }
  }

  private startExecution(id: string, event: ForagerEvent): void {
    if (this.open.has(id)) return;
    if (this.open.size >= this.maxOpen) {
      const [oldest] = this.open.keys();
      if (oldest !== undefined) this.forget(oldest);
    }
    const parent = parentContext(event.data.traceparent);
    const span = this.tracer.startSpan(
      `forager.execution ${event.graph_id ?? ""}/${event.stream_id ?? ""}`,
      {
        kind: SpanKind.INTERNAL,
        startTime: time(event),
        attributes: attrs({
          "gen_ai.agent.name": event.graph_id ?? undefined,
          "forager.agent": event.graph_id ?? undefined,
          "forager.entry_point": event.stream_id ?? undefined,
          "forager.execution_id": id,
          "forager.session_id": event.session_id ?? undefined,
          "forager.attempt": num(event.data.attempt),
          "forager.entry_node": text(event.data.entry_node),
        }),
      },
      parent,
    );
    this.open.set(id, { span, context: trace.setSpan(ROOT_CONTEXT, span), nodes: new Map(), tools: new Map() });
  }

  private endExecution(id: string, event: ForagerEvent): void {
    let execution = this.open.get(id);
    if (!execution) {
      // Ended without starting (cancelled while queued, could not start): still one span, so the failure is visible.
      this.startExecution(id, event);
      execution = this.open.get(id);
      if (!execution) return;
    }
    this.open.delete(id);
    const status = text(event.data.status) ?? event.type.replace("execution_", "");
    const error = record(event.data.error);
    const usage = record(event.data.usage);
    const ended = time(event);
    this.closeChildren(execution, ended.getTime(), status === "completed" ? undefined : `execution ${status}`);
    const span = execution.span;
    span.setAttributes(
      attrs({
        "forager.status": status,
        "forager.steps_executed": num(event.data.steps_executed),
        "gen_ai.usage.input_tokens": num(usage?.input_tokens),
        "gen_ai.usage.output_tokens": num(usage?.output_tokens),
        "forager.usage.llm_calls": num(usage?.llm_calls),
        "forager.usage.tool_calls": num(usage?.tool_calls),
        "forager.usage.cost_usd": num(usage?.cost_usd),
      }),
    );
    if (status === "completed") {
      span.setStatus({ code: SpanStatusCode.OK });
    } else {
      const message = text(error?.message) ?? `execution ${status}`;
      span.setAttributes(attrs({ "error.type": text(error?.code) ?? status, "forager.error.node_id": text(error?.node_id) }));
      span.setStatus({ code: SpanStatusCode.ERROR, message: clip(`${status}: ${scrubSecrets(message)}`) });
    }
    span.end(ended);
  }

  private startNode(execution: OpenExecution, event: ForagerEvent): void {
    const nodeId = event.node_id ?? "";
    const span = this.tracer.startSpan(
      `forager.node ${nodeId}`,
      {
        kind: SpanKind.INTERNAL,
        startTime: time(event),
        attributes: attrs({
          "forager.node.id": nodeId,
          "forager.node.type": text(event.data.type),
          "forager.node.visit": num(event.data.visit),
          "forager.execution_id": event.execution_id ?? undefined,
        }),
      },
      execution.context,
    );
    // A node visited again while its previous span is somehow open: end that one first.
    execution.nodes.get(nodeId)?.span.end(time(event));
    execution.nodes.set(nodeId, { span, context: trace.setSpan(ROOT_CONTEXT, span) });
  }

  private endNode(execution: OpenExecution, event: ForagerEvent): void {
    const node = this.nodeOf(execution, event);
    if (!node) return;
    this.failedLlmCalls(execution, event);
    execution.nodes.delete(event.node_id ?? "");
    const span = node.span;
    if (event.type === "node_completed") {
      span.setAttributes(attrs({ "forager.node.attempts": num(event.data.attempts) }));
      span.setStatus({ code: SpanStatusCode.OK });
    } else {
      span.setAttributes(attrs({ "forager.node.attempts": num(event.data.attempt), "error.type": text(event.data.code) ?? "node_failed" }));
      span.setStatus({ code: SpanStatusCode.ERROR, message: clip(scrubSecrets(text(event.data.error) ?? "node failed")) });
    }
    span.end(time(event));
  }

  private llmCall(execution: OpenExecution, event: ForagerEvent): void {
    const parent = this.nodeOf(execution, event)?.context ?? execution.context;
    const ended = time(event);
    const duration = num(event.data.duration_ms) ?? 0;
    const usage = record(event.data.usage);
    const requestModel = text(event.data.request_model);
    const responseModel = text(event.data.model);
    const model = requestModel ?? responseModel;
    const finish = text(event.data.finish_reason);
    const span = this.tracer.startSpan(
      model ? `chat ${model}` : "chat",
      {
        kind: SpanKind.CLIENT,
        startTime: new Date(ended.getTime() - duration),
        attributes: attrs({
          "gen_ai.operation.name": "chat",
          "gen_ai.provider.name": text(event.data.provider),
          "gen_ai.request.model": requestModel,
          "gen_ai.response.model": responseModel,
          "gen_ai.usage.input_tokens": num(usage?.input_tokens),
          "gen_ai.usage.output_tokens": num(usage?.output_tokens),
          "gen_ai.response.finish_reasons": finish ? [finish] : undefined,
          "forager.llm.turn": num(event.data.turn),
          "forager.node.id": event.node_id ?? undefined,
        }),
      },
      parent,
    );
    const prompt = this.options.calls?.takePrompt(event.execution_id, event.node_id, event.data.turn);
    if (this.options.captureContent && prompt) {
      span.setAttribute("gen_ai.input.messages", clip(scrubSecrets(JSON.stringify(prompt))));
    }
    if (this.options.captureContent) {
      const calls = Array.isArray(event.data.tool_calls) ? event.data.tool_calls.map(String) : [];
      const parts: Record<string, unknown>[] = [];
      const body = text(event.data.text);
      if (body) parts.push({ type: "text", content: body });
      for (const name of calls) parts.push({ type: "tool_call", name });
      span.setAttribute("gen_ai.output.messages", clip(scrubSecrets(JSON.stringify([{ role: "assistant", parts, ...(finish ? { finish_reason: finish } : {}) }]))));
    }
    span.setStatus({ code: SpanStatusCode.OK });
    span.end(ended);
  }

  /** LLM calls of this node that failed (no llm_turn_complete for them): ERROR chat spans under the node. */
  private failedLlmCalls(execution: OpenExecution, event: ForagerEvent): void {
    const failures = this.options.calls?.takeFailures(event.execution_id, event.node_id) ?? [];
    const parent = this.nodeOf(execution, event)?.context ?? execution.context;
    for (const failure of failures) {
      this.options.calls?.takePrompt(event.execution_id, event.node_id, failure.turn);
      const span = this.tracer.startSpan(
        failure.model ? `chat ${failure.model}` : "chat",
        {
          kind: SpanKind.CLIENT,
          startTime: new Date(failure.startMs),
          attributes: attrs({
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": failure.provider,
            "gen_ai.request.model": failure.model,
            "forager.llm.turn": failure.turn,
            "forager.node.id": event.node_id ?? undefined,
            "error.type": "llm_error",
          }),
        },
        parent,
      );
      span.setStatus({ code: SpanStatusCode.ERROR, message: clip(scrubSecrets(failure.message)) });
      span.end(new Date(failure.endMs));
    }
  }

  private startTool(execution: OpenExecution, event: ForagerEvent): void {
    const tool = text(event.data.tool) ?? "unknown";
    const callId = text(event.data.call_id);
    const parent = this.nodeOf(execution, event)?.context ?? execution.context;
    const span = this.tracer.startSpan(
      `execute_tool ${tool}`,
      {
        kind: SpanKind.INTERNAL,
        startTime: time(event),
        attributes: attrs({
          "gen_ai.operation.name": "execute_tool",
          "gen_ai.tool.name": tool,
          "gen_ai.tool.call.id": callId,
          "gen_ai.tool.type": "function",
          "forager.node.id": event.node_id ?? undefined,
        }),
      },
      parent,
    );
    if (this.options.captureContent && event.data.args !== undefined) {
      span.setAttribute("gen_ai.tool.call.arguments", clip(scrubSecrets(JSON.stringify(event.data.args))));
    }
    const key = toolKey(event, tool, callId);
    const list = execution.tools.get(key) ?? [];
    list.push(span);
    execution.tools.set(key, list);
  }

  private endTool(execution: OpenExecution, event: ForagerEvent): void {
    const tool = text(event.data.tool) ?? "unknown";
    const key = toolKey(event, tool, text(event.data.call_id));
    const list = execution.tools.get(key);
    const span = list?.shift();
    if (!span) return;
    if (list!.length === 0) execution.tools.delete(key);
    if (event.data.is_error === true) {
      const message = text(event.data.error) ?? "tool call failed";
      span.setAttribute("error.type", "tool_error");
      span.setStatus({ code: SpanStatusCode.ERROR, message: clip(scrubSecrets(message)) });
    } else {
      span.setStatus({ code: SpanStatusCode.OK });
      if (this.options.captureContent && event.data.result !== undefined) {
        span.setAttribute("gen_ai.tool.call.result", clip(scrubSecrets(JSON.stringify(event.data.result))));
      }
    }
    span.end(time(event));
  }

  private nodeOf(execution: OpenExecution, event: ForagerEvent): { span: Span; context: Context } | undefined {
    return event.node_id ? execution.nodes.get(event.node_id) : undefined;
  }

  /** Ends tool and node spans still open when their execution ends (it was cancelled, timed out or halted by a budget). */
  private closeChildren(execution: OpenExecution, endMs: number, errorMessage: string | undefined): void {
    const end = new Date(endMs);
    for (const spans of execution.tools.values()) {
      for (const span of spans) {
        if (errorMessage) span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage });
        span.end(end);
      }
    }
    execution.tools.clear();
    for (const { span } of execution.nodes.values()) {
      if (errorMessage) span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage });
      span.end(end);
    }
    execution.nodes.clear();
  }

  private forget(id: string): void {
    const execution = this.open.get(id);
    if (!execution) return;
    this.open.delete(id);
    this.closeChildren(execution, Date.now(), undefined);
    execution.span.setAttribute("forager.incomplete", true);
    execution.span.end();
  }
}

function toolKey(event: ForagerEvent, tool: string, callId: string | undefined): string {
  return callId !== undefined ? `call\u0000${callId}` : `node\u0000${event.node_id ?? ""}\u0000${tool}`;
}

/** The remote parent of a trigger that carried a `traceparent`, or a new trace. */
function parentContext(traceparent: unknown): Context {
  if (typeof traceparent !== "string" || traceparent === "") return ROOT_CONTEXT;
  return propagator.extract(ROOT_CONTEXT, { traceparent }, defaultTextMapGetter);
}

function time(event: ForagerEvent): Date {
  const ms = Date.parse(event.timestamp);
  return new Date(Number.isFinite(ms) ? ms : Date.now());
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

function num(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function clip(value: string): string {
  return value.length > MAX_ATTRIBUTE ? `${value.slice(0, MAX_ATTRIBUTE)}…` : value;
}

/** Attributes without the undefined ones (OpenTelemetry drops them anyway, with a warning). */
function attrs(values: Record<string, string | number | boolean | string[] | undefined>): Attributes {
  const out: Attributes = {};
  for (const [key, value] of Object.entries(values)) if (value !== undefined) out[key] = value;
  return out;
}
