/** `type: function`: a JavaScript/TypeScript function from a module next to the agent file. */
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { FunctionNode } from "../../config/schema.js";
import { errorMessage } from "../../errors.js";
import { isPlainObject } from "../../util/json.js";
import { NodeFailure } from "../errors.js";
import type { NodeContext, NodeResult } from "./context.js";

type ModuleNamespace = Record<string, unknown>;

// Modules load once per process; a failed load is forgotten so a fixed file loads next time.
const moduleCache = new Map<string, Promise<ModuleNamespace>>();

function loadModule(file: string, node: FunctionNode): Promise<ModuleNamespace> {
  let loading = moduleCache.get(file);
  if (!loading) {
    loading = (import(pathToFileURL(file).href) as Promise<ModuleNamespace>).catch((err: unknown) => {
      moduleCache.delete(file);
      const code = (err as { code?: unknown }).code;
      if (code === "ERR_MODULE_NOT_FOUND" && errorMessage(err).includes(file)) {
        throw new NodeFailure(`module "${node.module}" not found (looked for ${file})`, "node_failed", { cause: err });
      }
      throw new NodeFailure(`could not load module "${node.module}" (${file}): ${errorMessage(err)}`, "node_failed", { cause: err });
    });
    moduleCache.set(file, loading);
  }
  return loading;
}

export async function runFunctionNode(ctx: NodeContext<FunctionNode>): Promise<NodeResult> {
  const { node, scope } = ctx;
  const base = ctx.run.agent.base_dir;
  const file = isAbsolute(node.module) ? node.module : resolve(base, node.module);
  const namespace = await loadModule(file, node);
  const fn = namespace[node.export];
  if (typeof fn !== "function") {
    const exported = Object.keys(namespace).filter((name) => typeof namespace[name] === "function");
    throw new NodeFailure(
      `module "${node.module}" has no function export "${node.export}"` +
        (exported.length > 0 ? ` (it exports: ${exported.join(", ")})` : ""),
    );
  }
  let returned: unknown;
  try {
    returned = await (fn as (args: unknown) => unknown)({
      input: scope.input,
      memory: { ...scope.memory },
      state: { ...scope.state },
      event: scope.event,
      execution: scope.execution,
      signal: ctx.signal,
      log: ctx.logger,
    });
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    throw new NodeFailure(errorMessage(err), "node_failed", { cause: err });
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
