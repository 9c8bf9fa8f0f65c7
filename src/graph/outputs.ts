/**
 * Output keys: what a node may write, where it goes (memory, or shared
 * state for `state.NAME`), and which keys must be set for a node to finish.
 */
import type { NodeDef } from "../config/schema.js";
import type { ExecutionRun } from "./context.js";
import { NodeFailure } from "./errors.js";
import { preview } from "./preview.js";

/** Output keys of this form write the agent's shared state. */
export const STATE_PREFIX = "state.";

export function isStateKey(key: string): boolean {
  return key.startsWith(STATE_PREFIX);
}

/** A value that counts as "not set" for a non-nullable key. */
export function isUnset(value: unknown): boolean {
  return value === undefined || value === null;
}

/** The node's output keys that must be set before it may finish. */
export function requiredKeys(node: NodeDef): string[] {
  return node.output_keys.filter((key) => !node.nullable_output_keys.includes(key));
}

function declaredList(node: NodeDef): string {
  return node.output_keys.length > 0 ? node.output_keys.join(", ") : "none";
}

/** Throws unless `key` is one of the node's output keys. */
function checkDeclared(node: NodeDef, key: string): void {
  if (!node.output_keys.includes(key)) {
    throw new NodeFailure(`wrote output key "${key}", which is not in its output_keys (declared: ${declaredList(node)})`);
  }
}

/** The shared-state name a `state.NAME` key writes; refused under isolation. */
function stateName(run: ExecutionRun, key: string): string {
  if (run.isolated) {
    throw new NodeFailure(
      `output key "${key}" writes shared state, but entry point "${run.entryPoint.id}" has isolation_level: isolated, ` +
        `which can neither read nor write state; use isolation_level shared or synchronized, or write a memory key instead`,
    );
  }
  return key.slice(STATE_PREFIX.length);
}

function setMemoryKey(run: ExecutionRun, node: NodeDef, key: string, value: unknown): void {
  run.memory[key] = value;
  run.written.add(key);
  run.emit("output_key_set", { key, value: preview(value) }, node.id);
}

/** Writes shared state and emits one `state_changed` per key. */
async function writeStateKeys(run: ExecutionRun, node: NodeDef, changes: Record<string, unknown>): Promise<void> {
  await run.writeState(changes);
  for (const [name, value] of Object.entries(changes)) run.emit("state_changed", { key: name, value: preview(value) }, node.id);
}

/** Writes one declared output key: to memory (`output_key_set`) or to shared state (`state_changed`). */
export async function writeOutput(run: ExecutionRun, node: NodeDef, key: string, value: unknown): Promise<void> {
  checkDeclared(node, key);
  if (isStateKey(key)) await writeStateKeys(run, node, { [stateName(run, key)]: value });
  else setMemoryKey(run, node, key, value);
}

/**
 * Checks a node's returned outputs as a whole (no undeclared key, every
 * required key present), then writes them. Returns the keys written.
 */
export async function writeNodeOutputs(run: ExecutionRun, node: NodeDef, values: Record<string, unknown>): Promise<string[]> {
  for (const key of Object.keys(values)) {
    if (values[key] !== undefined) checkDeclared(node, key);
  }
  const missing = requiredKeys(node).filter((key) => isUnset(values[key]));
  if (missing.length > 0) {
    throw new NodeFailure(`finished without setting output key${missing.length > 1 ? "s" : ""} ${missing.join(", ")}`, "output_missing");
  }
  const stateChanges: Record<string, unknown> = {};
  const written: string[] = [];
  for (const key of node.output_keys) {
    const value = values[key];
    if (value === undefined) continue;
    if (isStateKey(key)) stateChanges[stateName(run, key)] = value;
    else setMemoryKey(run, node, key, value);
    written.push(key);
  }
  // State keys go in one write, so a node's state changes land together.
  if (Object.keys(stateChanges).length > 0) await writeStateKeys(run, node, stateChanges);
  return written;
}
