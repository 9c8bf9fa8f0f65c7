/**
 * `type: function`: a JavaScript/TypeScript function from a module next to
 * the agent file, run in the function pool's worker threads (SPEC 3.2).
 */
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { FunctionNode } from "../../config/schema.js";
import { errorMessage } from "../../errors.js";
import { isPlainObject } from "../../util/json.js";
import { NodeFailure } from "../errors.js";
import type { NodeContext, NodeResult } from "./context.js";
import { FunctionCallError, sharedFunctionPool } from "./function-pool.js";

export async function runFunctionNode(ctx: NodeContext<FunctionNode>): Promise<NodeResult> {
  const { node, scope } = ctx;
  const base = ctx.run.agent.base_dir;
  const file = isAbsolute(node.module) ? node.module : resolve(base, node.module);
  const pool = ctx.services.functions ?? sharedFunctionPool();
  let returned: unknown;
  try {
    returned = await pool.run({
      url: pathToFileURL(file).href,
      exportName: node.export,
      args: {
        input: scope.input,
        memory: scope.memory,
        state: scope.state,
        event: scope.event,
        execution: scope.execution,
      },
      signal: ctx.signal,
      logger: ctx.logger,
      killGraceMs: node.kill_grace_seconds * 1000,
    });
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    // Operators see the thrown error's class and stack at debug (SPEC 2); pino prints the class as `type`.
    ctx.logger.debug({ err }, "function node threw");
    throw callFailure(err, node, file);
  }
  if (returned === undefined || returned === null) return { values: {} };
  if (!isPlainObject(returned)) {
    throw new NodeFailure(
      `function "${node.export}" of "${node.module}" returned ${Array.isArray(returned) ? "a list" : typeof returned}; ` +
        `expected an object whose keys are its output keys`,
    );
  }
  return { values: returned };
}

function callFailure(err: unknown, node: FunctionNode, file: string): NodeFailure {
  if (!(err instanceof FunctionCallError)) {
    // The function threw: its error (class name, message, stack as thrown in the worker) is the cause.
    return new NodeFailure(errorMessage(err), "node_failed", { cause: err });
  }
  const failure = err.failure;
  switch (failure.kind) {
    case "load":
      if (failure.error.code === "ERR_MODULE_NOT_FOUND" && failure.error.message.includes(file)) {
        return new NodeFailure(`module "${node.module}" not found (looked for ${file})`, "node_failed", { cause: err });
      }
      return new NodeFailure(`could not load module "${node.module}" (${file}): ${failure.error.message}`, "node_failed", { cause: err });
    case "export":
      return new NodeFailure(
        `module "${node.module}" has no function export "${node.export}"` +
          (failure.exported.length > 0 ? ` (it exports: ${failure.exported.join(", ")})` : ""),
      );
    default:
      return new NodeFailure(`function "${node.export}" of "${node.module}": ${err.message}`, "node_failed", { cause: err });
  }
}
