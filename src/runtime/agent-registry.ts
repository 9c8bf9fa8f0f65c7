/**
 * The agents a runtime serves and their entry point streams: registering an
 * entry point, applying a reload plan, finding the stream a trigger names,
 * and putting streams in and out of service (queue, event intake, timers).
 * A definition a reload replaced keeps its tools and provider until the
 * executions accepted with it are done.
 */
import type { Agent, ResolvedEntryPoint } from "../config/schema.js";
import { ForagerError, StateError } from "../errors.js";
import type { EventBus } from "../events/bus.js";
import type { Logger } from "../logging/index.js";
import { resolveEntryPoint, type EntryPointFileSpec, type EntryPointSpec } from "./entry-point-spec.js";
import type { EventIntake } from "./event-intake.js";
import type { ExecutionQueue } from "./execution-queue.js";
import type { ExecutionRunner } from "./execution-runner.js";
import { whenDone } from "./job.js";
import { planReload, type CurrentAgent, type ReloadSummary } from "./reload-plan.js";
import { EntryPointStream } from "./stream.js";
import type { TimerScheduler } from "./timers.js";
import { TriggerError } from "./types.js";

export interface AgentSlot {
  agent: Agent;
  streams: Map<string, EntryPointStream>;
}

/** What the registry wires streams into. */
export interface AgentRegistryHost {
  readonly queue: ExecutionQueue;
  readonly intake: EventIntake;
  readonly timers: TimerScheduler;
  readonly runner: ExecutionRunner;
  readonly bus: EventBus;
  readonly logger: Logger;
  /** Whether the runtime is running: stream_started/stream_stopped are published only then. */
  isRunning(): boolean;
}

export class AgentRegistry {
  private readonly agents = new Map<string, AgentSlot>();

  constructor(private readonly host: AgentRegistryHost) {}

  names(): string[] {
    return [...this.agents.keys()];
  }

  slots(): IterableIterator<AgentSlot> {
    return this.agents.values();
  }

  /** Every stream in service, agent by agent. */
  *streams(): Generator<EntryPointStream> {
    for (const slot of this.agents.values()) yield* slot.streams.values();
  }

  /** Adds an agent given at construction; names must be unique. */
  add(agent: Agent): void {
    if (this.agents.has(agent.name)) throw new ForagerError("duplicate_agent", `two agents are named "${agent.name}"; agent names must be unique`);
    this.agents.set(agent.name, { agent, streams: new Map() });
    for (const ep of agent.entry_points) this.register(ep, agent.name);
  }

  /** AgentRuntime.registerEntryPoint once the lifecycle allows it. */
  register(spec: EntryPointSpec | EntryPointFileSpec, agentName?: string): void {
    const slot = this.slot(agentName);
    if (!slot) {
      const known = this.names();
      throw new ForagerError(
        "unknown_agent",
        agentName === undefined
          ? `registerEntryPoint needs an agent name: the runtime has ${known.length === 0 ? "no agents" : `several (${known.join(", ")})`}`
          : `no agent named "${agentName}" in this runtime (agents: ${known.join(", ") || "none"})`,
      );
    }
    const ep = resolveEntryPoint(slot.agent, spec);
    const existing = slot.streams.get(ep.id);
    const load = existing && this.host.queue.counts(existing);
    if (load && (load.active > 0 || load.waiting > 0)) {
      throw new StateError(`cannot replace entry point "${ep.id}" of agent ${slot.agent.name} while it has executions`);
    }
    this.attach(slot, ep, "added");
  }

  /** AgentRuntime.reload once the lifecycle allows it: plans first (throwing changes nothing), then applies. */
  reload(agents: readonly Agent[]): ReloadSummary {
    const current = new Map<string, CurrentAgent>();
    for (const [name, slot] of this.agents) {
      current.set(name, { agent: slot.agent, entryPoints: new Map([...slot.streams].map(([id, stream]) => [id, stream.entryPoint])) });
    }
    const plan = planReload(current, agents);
    for (const old of plan.removedAgents) {
      const slot = this.agents.get(old.name)!;
      for (const id of [...slot.streams.keys()]) this.detach(slot, id);
      this.agents.delete(old.name);
      this.releaseWhenDone(old);
    }
    for (const { agent, previous, entryPoints, removedEntryPoints } of plan.agents) {
      let slot = this.agents.get(agent.name);
      if (!slot) {
        slot = { agent, streams: new Map() };
        this.agents.set(agent.name, slot);
      }
      slot.agent = agent;
      for (const id of removedEntryPoints) this.detach(slot, id);
      for (const { ep, change } of entryPoints) this.attach(slot, ep, change);
      if (previous && previous !== agent) this.releaseWhenDone(previous);
    }
    return plan.summary;
  }

  /** The stream a trigger names; TriggerError "not_found" otherwise. */
  findStream(agentName: string | undefined, entryPointId: string): EntryPointStream {
    const slot = this.slot(agentName);
    if (!slot) {
      const known = this.names().join(", ") || "none";
      throw new TriggerError(
        "not_found",
        agentName === undefined ? `name an agent: this runtime has several (${known})` : `no agent named "${agentName}" (agents: ${known})`,
      );
    }
    const stream = slot.streams.get(entryPointId);
    if (!stream) {
      throw new TriggerError("not_found", `agent ${slot.agent.name} has no entry point "${entryPointId}" (it has: ${[...slot.streams.keys()].join(", ")})`);
    }
    return stream;
  }

  publishStream(type: "stream_started" | "stream_stopped", stream: EntryPointStream): void {
    this.host.bus.publish({ type, graph_id: stream.agentName, stream_id: stream.id, data: { trigger_type: stream.entryPoint.trigger_type } });
  }

  private slot(agentName?: string): AgentSlot | undefined {
    if (agentName !== undefined) return this.agents.get(agentName);
    return this.agents.size === 1 ? this.agents.values().next().value : undefined;
  }

  /**
   * Puts an entry point in service. The stream object of a key is reused
   * (also one a reload removed that still drains), so its queue, counters
   * and running executions carry over and the overlap policy sees them.
   */
  private attach(slot: AgentSlot, ep: ResolvedEntryPoint, change: "added" | "changed" | "unchanged"): void {
    const { queue, intake, timers } = this.host;
    const key = `${slot.agent.name}/${ep.id}`;
    let stream = queue.streamByKey(key);
    if (stream) stream.redefine(slot.agent, ep);
    else {
      stream = new EntryPointStream(slot.agent, ep);
      queue.addStream(stream);
    }
    const wasServing = slot.streams.get(ep.id) === stream;
    slot.streams.set(ep.id, stream);
    intake.setStream(stream);
    if (ep.trigger_type !== "timer") timers.remove(key);
    else if (!wasServing || change !== "unchanged") timers.add(stream, { reloaded: wasServing && change === "changed" });
    queue.refill(stream);
    if (!wasServing && this.host.isRunning()) this.publishStream("stream_started", stream);
  }

  /** Takes an entry point out of service: no triggers, timer or events; what it accepted still runs. */
  private detach(slot: AgentSlot, id: string): void {
    const stream = slot.streams.get(id);
    if (!stream) return;
    slot.streams.delete(id);
    this.host.timers.remove(stream.key);
    this.host.intake.removeStream(stream.key);
    if (this.host.isRunning()) this.publishStream("stream_stopped", stream);
  }

  /** Closes a replaced definition's tools and provider once the executions accepted with it are done. */
  private releaseWhenDone(agent: Agent): void {
    const pending = this.host.queue.jobsOf(agent).map((job) => whenDone(job));
    const onError = (err: unknown) => this.host.logger.error({ err, agent: agent.name }, "closing a replaced definition's tool resolver or provider failed");
    void Promise.all(pending).then(() => this.host.runner.release(agent, onError));
  }
}
