/**
 * Which event entry points an event triggers (SPEC 4.1): type, own-graph
 * exclusion, stream / node / graph filters and a CEL `when`, plus loop
 * protection: an entry point never triggers itself, directly or through a
 * chain of executions that started from its own events.
 */
import type { EventConfig } from "../config/schema.js";
import type { ForagerEvent } from "../events/types.js";
import { evaluateCondition } from "../expr/index.js";
import type { Logger } from "../logging/index.js";
import type { EntryPointStream } from "./stream.js";

/** Upstream entry point keys per execution id, so chains through other agents are seen. Bounded. */
export class ChainTracker {
  private readonly chains = new Map<string, readonly string[]>();

  constructor(private readonly max = 10_000) {}

  /** The entry point keys upstream of an event (from the execution that produced it). */
  upstreamOf(event: ForagerEvent): readonly string[] {
    return (event.execution_id && this.chains.get(event.execution_id)) || [];
  }

  /** Remembers that `executionId` was started by `streamKey` from an event with `upstream` behind it. */
  record(executionId: string, streamKey: string, upstream: readonly string[]): readonly string[] {
    const chain = upstream.includes(streamKey) ? upstream : [...upstream, streamKey];
    this.chains.set(executionId, chain);
    if (this.chains.size > this.max) {
      const oldest = this.chains.keys().next().value;
      if (oldest !== undefined) this.chains.delete(oldest);
    }
    return chain;
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
  const config: EventConfig = ep.trigger_config;
  if (!config.event_types.includes(event.type)) return false;
  // Its own events, and events of executions it started (directly or via other agents), never loop back.
  if (event.stream_id === ep.id && event.graph_id === stream.agentName) return false;
  if (upstream.includes(stream.key)) return false;
  if (config.exclude_own_graph && event.graph_id === stream.agentName) return false;
  if (config.filter_stream !== undefined && event.stream_id !== config.filter_stream) return false;
  if (config.filter_node !== undefined && event.node_id !== config.filter_node) return false;
  if (config.filter_graph !== undefined && event.graph_id !== config.filter_graph) return false;
  if (config.when !== undefined) {
    try {
      return evaluateCondition(config.when, { event });
    } catch (err) {
      logger.warn({ err, entry_point: ep.id, agent: stream.agentName, event: event.type }, "event filter `when` failed; event ignored");
      return false;
    }
  }
  return true;
}
