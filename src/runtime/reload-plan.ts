/**
 * What a reload of the agent definitions changes (SPEC 6), worked out before
 * anything is touched: every new entry point is resolved first, so a reload
 * that cannot apply fails whole and the running definitions stay.
 */
import type { Agent, ResolvedEntryPoint } from "../config/schema.js";
import { ForagerError } from "../errors.js";
import { resolveEntryPoint } from "./entry-point-spec.js";

/** What `AgentRuntime.reload` changed; entry points as `agent/id` keys. */
export interface ReloadSummary {
  /** Agents by name. */
  agents: {
    /** New in the reloaded definitions. */
    added: string[];
    /** Gone from them: they take no new work. */
    removed: string[];
    /** Present before and after, with a different definition. */
    changed: string[];
    /** Present before and after, the same. */
    unchanged: string[];
  };
  /** Entry points as `agent/id` keys. */
  entry_points: {
    /** New: they take work from now on. */
    added: string[];
    /** Gone: they take no new work; executions already accepted finish. */
    removed: string[];
    /** Redefined: new work runs on the new definition. */
    changed: string[];
    /** Present before and after, the same. */
    unchanged: string[];
  };
}

export interface AgentPlan {
  /** The definition to run from now on (the old object when nothing changed). */
  agent: Agent;
  /** The definition it replaces; undefined for a new agent. */
  previous?: Agent;
  entryPoints: Array<{ ep: ResolvedEntryPoint; change: "added" | "changed" | "unchanged" }>;
  /** Ids of entry points the agent no longer has. */
  removedEntryPoints: string[];
}

export interface ReloadPlan {
  agents: AgentPlan[];
  /** Agents no longer defined. */
  removedAgents: Agent[];
  summary: ReloadSummary;
}

/** The current definition of one agent as the runtime holds it. */
export interface CurrentAgent {
  agent: Agent;
  entryPoints: ReadonlyMap<string, ResolvedEntryPoint>;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Compares the new definitions with the current ones; throws ForagerError when one cannot be used. */
export function planReload(current: ReadonlyMap<string, CurrentAgent>, next: readonly Agent[]): ReloadPlan {
  const summary: ReloadSummary = {
    agents: { added: [], removed: [], changed: [], unchanged: [] },
    entry_points: { added: [], removed: [], changed: [], unchanged: [] },
  };
  const seen = new Set<string>();
  const agents: AgentPlan[] = [];
  for (const incoming of next) {
    if (seen.has(incoming.name)) throw new ForagerError("duplicate_agent", `two agents are named "${incoming.name}"; agent names must be unique`);
    seen.add(incoming.name);
    const old = current.get(incoming.name);
    const unchangedAgent = old !== undefined && same(old.agent, incoming);
    // An unchanged agent keeps its definition object: its tools and provider stay up.
    const agent = unchangedAgent ? old.agent : incoming;
    const plan: AgentPlan = { agent, previous: old?.agent, entryPoints: [], removedEntryPoints: [] };
    for (const spec of agent.entry_points) {
      const ep = resolveEntryPoint(agent, spec);
      const before = old?.entryPoints.get(ep.id);
      const change = before === undefined ? "added" : same(before, ep) ? "unchanged" : "changed";
      plan.entryPoints.push({ ep, change });
      summary.entry_points[change].push(`${agent.name}/${ep.id}`);
    }
    if (old) {
      const ids = new Set(plan.entryPoints.map((e) => e.ep.id));
      for (const id of old.entryPoints.keys()) {
        if (ids.has(id)) continue;
        plan.removedEntryPoints.push(id);
        summary.entry_points.removed.push(`${agent.name}/${id}`);
      }
    }
    summary.agents[old === undefined ? "added" : unchangedAgent ? "unchanged" : "changed"].push(agent.name);
    agents.push(plan);
  }
  const removedAgents: Agent[] = [];
  for (const [name, old] of current) {
    if (seen.has(name)) continue;
    removedAgents.push(old.agent);
    summary.agents.removed.push(name);
    for (const id of old.entryPoints.keys()) summary.entry_points.removed.push(`${name}/${id}`);
  }
  return { agents, removedAgents, summary };
}
