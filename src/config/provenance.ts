/**
 * Where a loaded agent came from: the file and the position of each key,
 * and which `runtime:` keys the file wrote itself. Kept beside the Agent
 * (weakly, so it goes with the agent) rather than in the Agent type: issues
 * found after loading (mergeRuntimeConfig) still point at a line and column,
 * and merging several files can tell "set to the default" from "not set".
 */
import type { DefinitionIssue } from "../errors.js";
import { formatPath, type KeyPath, type Locator } from "./positions.js";
import type { Agent } from "./schema.js";

interface Provenance {
  file: string;
  locator: Locator;
  /** The `runtime:` keys the file set itself. */
  runtimeKeys: ReadonlySet<string>;
}

const provenance = new WeakMap<Agent, Provenance>();

/** Remembers where a freshly loaded agent came from. */
export function rememberProvenance(agent: Agent, origin: Provenance): void {
  provenance.set(agent, origin);
}

/** True when the agent's file set `runtime.<key>` itself; undefined when unknown (built in code). */
export function setsRuntimeKey(agent: Agent, key: string): boolean | undefined {
  return provenance.get(agent)?.runtimeKeys.has(key);
}

/** The issue for a key path of an already loaded agent (line 0 when unknown). */
export function issueAt(agent: Agent, path: KeyPath, message: string): DefinitionIssue {
  const known = provenance.get(agent);
  const where = known ? known.locator.locate(path) : { line: 0, col: 0 };
  return { file: known?.file ?? agent.source_path, ...where, path: formatPath(path), message };
}
