/**
 * Which event entry points an event triggers (SPEC 4.1): type, own-graph
 * exclusion, stream / node / graph filters and a CEL `when`, plus loop
 * protection: an entry point never triggers itself, directly or through a
 * chain of executions that started from its own events.
 */
import type { EventConfig, ResolvedEntryPoint } from "../config/schema.js";
import { errorMessage } from "../errors.js";
import type { ForagerEvent } from "../events/types.js";
import { evaluateCondition } from "../expr/index.js";
import type { Logger } from "../logging/index.js";
import type { EntryPointStream } from "./stream.js";

/** An entry point with trigger_type event. */
export type EventEntryPoint = Extract<ResolvedEntryPoint, { trigger_type: "event" }>;

/**
 * The chain an execution started by `streamKey` carries: the entry point keys
 * upstream of the event that triggered it, then its own. It travels in the
 * job data (Job.chain), so whichever process runs the job knows it.
 */
export function extendChain(upstream: readonly string[], streamKey: string): readonly string[] {
  return upstream.includes(streamKey) ? upstream : [...upstream, streamKey];
}

/**
 * Upstream entry point keys per execution id, so chains through other agents
 * are seen. Filled from the job data where the job's events are published:
 * where it is admitted (its queued and never-started events) and where it
 * starts (everything it publishes while it runs). Bounded.
 */
export class ChainTracker {
  private readonly chains = new Map<string, readonly string[]>();

  constructor(private readonly max = 10_000) {}

  /** The entry point keys upstream of an event (from the execution that produced it). */
  upstreamOf(event: ForagerEvent): readonly string[] {
    return (event.execution_id && this.chains.get(event.execution_id)) || [];
  }

  /** Remembers the chain of `executionId` (extendChain). */
  record(executionId: string, chain: readonly string[]): void {
    this.chains.delete(executionId);
    this.chains.set(executionId, chain);
    if (this.chains.size > this.max) {
      const oldest = this.chains.keys().next().value;
      if (oldest !== undefined) this.chains.delete(oldest);
    }
  }
}

/** True when `event` should trigger the event entry point of `stream`. */
export function eventMatches(
  stream: EntryPointStream,
  event: ForagerEvent,
  upstream: readonly string[],
  logger: Logger,
): boolean {
  const ep = stream.entryPoint;
  if (ep.trigger_type !== "event") return false;
  // Events of executions it started (directly or via other agents) never loop back.
  if (upstream.includes(stream.key)) return false;
  const mismatch = eventFilterMismatch(stream.agentName, ep, event);
  if (mismatch?.failed) {
    logger.warn({ err: mismatch.failed, entry_point: ep.id, agent: stream.agentName, event: event.type }, "event filter `when` failed; event ignored");
  }
  return mismatch === undefined;
}

/** Why an event does not trigger an event entry point; `failed` holds the error when `when` could not be evaluated. */
export interface FilterMismatch {
  reason: string;
  failed?: unknown;
}

/**
 * The filters of an event entry point (SPEC 4.1) applied to one event:
 * undefined when it matches, else why not. Shared by the daemon and by
 * `forager run --entry`, which tests the filters offline against `--input`.
 */
export function eventFilterMismatch(agentName: string, ep: EventEntryPoint, event: ForagerEvent): FilterMismatch | undefined {
  const config: EventConfig = ep.trigger_config;
  if (!config.event_types.includes(event.type)) {
    return { reason: `event type ${event.type ?? "(none)"} is not in event_types (${config.event_types.join(", ")})` };
  }
  // Its own events never loop back.
  if (event.stream_id === ep.id && event.graph_id === agentName) return { reason: "the event comes from this entry point itself" };
  if (config.exclude_own_graph && event.graph_id === agentName) return { reason: `exclude_own_graph: the event comes from agent ${agentName}` };
  const field = (name: string, expected: string | undefined, actual: string | null | undefined) =>
    expected !== undefined && actual !== expected ? { reason: `${name} is ${JSON.stringify(expected)}, the event's is ${JSON.stringify(actual ?? null)}` } : undefined;
  const byField =
    field("filter_stream", config.filter_stream, event.stream_id) ??
    field("filter_node", config.filter_node, event.node_id) ??
    field("filter_graph", config.filter_graph, event.graph_id);
  if (byField) return byField;
  if (config.when !== undefined) {
    try {
      if (!evaluateCondition(config.when, { event })) return { reason: `when \`${config.when}\` is false for this event` };
    } catch (err) {
      return { reason: `when \`${config.when}\` could not be evaluated: ${errorMessage(err)}`, failed: err };
    }
  }
  return undefined;
}
