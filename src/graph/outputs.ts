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
export function checkDeclared(node: NodeDef, key: string): void {
  if (!node.output_keys.includes(key)) {
    throw new NodeFailure(`wrote output key "${key}", which is not in its output_keys (declared: ${declaredList(node)})`);
  }
}

function refuseIsolatedState(run: ExecutionRun, key: string): never {
  throw new NodeFailure(
    `output key "${key}" writes shared state, but entry point "${run.entryPoint.id}" has isolation_level: isolated, ` +
      `which can neither read nor write state; use isolation_level shared or synchronized, or write a memory key instead`,
  );
}

/** Writes one declared output key: to memory (`output_key_set`) or to shared state (`state_changed`). */
export async function writeOutput(run: ExecutionRun, node: NodeDef, key: string, value: unknown): Promise<void> {
  checkDeclared(node, key);
  if (isStateKey(key)) {
    if (run.isolated) refuseIsolatedState(run, key);
    const name = key.slice(STATE_PREFIX.length);
    await run.writeState({ [name]: value });
    run.emit("state_changed", { key: name, value: preview(value) }, node.id);
    return;
  }
  run.memory[key] = value;
  run.written.add(key);
  run.emit("output_key_set", { key, value: preview(value) }, node.id);
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
    if (isStateKey(key)) {
      if (run.isolated) refuseIsolatedState(run, key);
      stateChanges[key.slice(STATE_PREFIX.length)] = value;
    } else {
      run.memory[key] = value;
      run.written.add(key);
      run.emit("output_key_set", { key, value: preview(value) }, node.id);
    }
    written.push(key);
  }
  const stateKeys = Object.keys(stateChanges);
  if (stateKeys.length > 0) {
    await run.writeState(stateChanges);
    for (const name of stateKeys) run.emit("state_changed", { key: name, value: preview(stateChanges[name]) }, node.id);
  }
  return written;
}
