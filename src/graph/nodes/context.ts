/** What every node type gets for one attempt. */
import type { NodeDef } from "../../config/schema.js";
import type { LlmProvider } from "../../llm/types.js";
import type { Logger } from "../../logging/index.js";
import type { ToolResolver } from "../../tools/types.js";
import type { FunctionPool } from "./function-pool.js";
import type { ExecutionRun, Scope } from "../context.js";

export interface NodeServices {
  llm?: LlmProvider;
  tools: ToolResolver;
  /** Where function nodes run; default: a process-wide pool. */
  functions?: FunctionPool;
}

export interface NodeContext<N extends NodeDef = NodeDef> {
  run: ExecutionRun;
  node: N;
  /** Aborts on the node's timeout, on cancel, on an execution timeout or budget stop. */
  signal: AbortSignal;
  /** The scope as this node sees it (memory narrowed by input_keys). */
  scope: Scope;
  logger: Logger;
  /** 1-based attempt of this node visit (retries count up). */
  attempt: number;
  services: NodeServices;
}

/**
 * What a node attempt produced. Tool and function nodes return their
 * values to be checked and written as a whole; llm nodes write as the model
 * calls set_output and report the keys they wrote.
 */
export type NodeResult = { values: Record<string, unknown> } | { written: string[] };
