/**
 * The tool resolver and LLM provider of each agent: built on first use
 * (so an agent that never runs starts no MCP server and loads no AI SDK),
 * shared by its executions, and closed on stop when the runtime built them.
 */
import type { Agent } from "../config/schema.js";
import { ForagerError } from "../errors.js";
import type { LlmProvider } from "../llm/types.js";
import type { Logger } from "../logging/index.js";
import type { ToolResolver } from "../tools/types.js";
import type { Clock } from "../util/clock.js";

export interface AgentResourceOptions {
  /** An instance (the caller's to close) or a factory per agent (ours to close). */
  tools?: ToolResolver | ((agent: Agent) => ToolResolver);
  llm?: LlmProvider | ((agent: Agent) => LlmProvider | Promise<LlmProvider>);
  logger: Logger;
  clock: Clock;
}

interface Built {
  tools?: Promise<ToolResolver>;
  llm?: Promise<LlmProvider | undefined>;
}

export class AgentResources {
  private readonly built = new Map<string, Built>();
  private readonly owned: Array<{ close?(): Promise<void> }> = [];

  constructor(private readonly options: AgentResourceOptions) {}

  tools(agent: Agent): Promise<ToolResolver> {
    const slot = this.slot(agent);
    slot.tools ??= (async () => {
      const given = this.options.tools;
      if (given && typeof given !== "function") return given;
      const resolver = given
        ? given(agent)
        : (await import("../tools/registry.js")).createToolResolver(agent, { logger: this.options.logger });
      this.owned.push(resolver);
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
        provider = await createLlmProvider(agent.llm, { logger: this.options.logger, clock: this.options.clock });
      }
      this.owned.push(provider);
      return provider;
    })();
    slot.llm.catch(() => (slot.llm = undefined));
    return slot.llm;
  }

  /** Closes what was built here; every close runs even when one fails. */
  async close(onError: (err: unknown) => void): Promise<void> {
    for (const closable of this.owned.splice(0)) {
      try {
        await closable.close?.();
      } catch (err) {
        onError(err);
      }
    }
    this.built.clear();
  }

  private slot(agent: Agent): Built {
    let slot = this.built.get(agent.name);
    if (!slot) {
      slot = {};
      this.built.set(agent.name, slot);
    }
    return slot;
  }
}
