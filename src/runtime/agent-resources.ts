/**
 * The tool resolver and LLM provider of each agent: built on first use
 * (so an agent that never runs starts no MCP server and loads no AI SDK),
 * shared by its executions, and closed on stop when the runtime built them.
 * Keyed by the definition object: a reloaded agent gets fresh ones, and the
 * old ones are released once the executions using them have finished.
 */
import type { Agent } from "../config/schema.js";
import { ForagerError } from "../errors.js";
import type { CreateLlmProviderOptions } from "../llm/index.js";
import type { LlmProvider } from "../llm/types.js";
import type { Logger } from "../logging/index.js";
import type { ToolResolver } from "../tools/types.js";
import type { Clock } from "../util/clock.js";

export interface AgentResourceOptions {
  /** An instance (the caller's to close) or a factory per agent (ours to close). */
  tools?: ToolResolver | ((agent: Agent) => ToolResolver);
  llm?: LlmProvider | ((agent: Agent) => LlmProvider | Promise<LlmProvider>);
  /** For the providers built here from the agent's `llm` section (`--record`, `--replay`, a logger of their own). */
  provider?: Pick<CreateLlmProviderOptions, "record" | "replay" | "logger">;
  logger: Logger;
  clock: Clock;
}

type Closable = { close?(): Promise<void> };

interface Built {
  tools?: Promise<ToolResolver>;
  llm?: Promise<LlmProvider | undefined>;
  /** What was built here for this definition, and is therefore ours to close. */
  owned: Closable[];
}

export class AgentResources {
  private readonly built = new Map<Agent, Built>();

  constructor(private readonly options: AgentResourceOptions) {}

  tools(agent: Agent): Promise<ToolResolver> {
    const slot = this.slot(agent);
    slot.tools ??= (async () => {
      const given = this.options.tools;
      if (given && typeof given !== "function") return given;
      const resolver = given
        ? given(agent)
        : (await import("../tools/registry.js")).createToolResolver(agent, { logger: this.options.logger });
      slot.owned.push(resolver);
      return resolver;
    })();
    // A failed build is tried again by the next execution rather than remembered.
    slot.tools.catch(() => (slot.tools = undefined));
    return slot.tools;
  }

  /** The agent's provider; undefined when it has no llm nodes (nothing is loaded then). */
  llm(agent: Agent): Promise<LlmProvider | undefined> {
    const slot = this.slot(agent);
    slot.llm ??= (async () => {
      const given = this.options.llm;
      if (given && typeof given !== "function") return given;
      if (!given && !agent.graph.nodes.some((node) => node.type === "llm")) return undefined;
      let provider: LlmProvider;
      if (given) provider = await given(agent);
      else {
        if (!agent.llm) throw new ForagerError("no_llm", `agent ${agent.name} has llm nodes but no \`llm\` section`);
        const { createLlmProvider } = await import("../llm/index.js");
        provider = await createLlmProvider(agent.llm, { logger: this.options.logger, clock: this.options.clock, ...this.options.provider });
      }
      slot.owned.push(provider);
      return provider;
    })();
    slot.llm.catch(() => (slot.llm = undefined));
    return slot.llm;
  }

  /** Closes what was built for one definition (a reload replaced it and its executions are done). */
  async release(agent: Agent, onError: (err: unknown) => void): Promise<void> {
    const slot = this.built.get(agent);
    if (!slot) return;
    this.built.delete(agent);
    await closeAll(slot.owned.splice(0), onError);
  }

  /** Closes what was built here; every close runs even when one fails. */
  async close(onError: (err: unknown) => void): Promise<void> {
    const slots = [...this.built.values()];
    this.built.clear();
    for (const slot of slots) await closeAll(slot.owned.splice(0), onError);
  }

  private slot(agent: Agent): Built {
    let slot = this.built.get(agent);
    if (!slot) {
      slot = { owned: [] };
      this.built.set(agent, slot);
    }
    return slot;
  }
}

async function closeAll(closables: Closable[], onError: (err: unknown) => void): Promise<void> {
  for (const closable of closables) {
    try {
      await closable.close?.();
    } catch (err) {
      onError(err);
    }
  }
}
