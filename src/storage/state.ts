/**
 * The agent's shared state (SPEC 4.3): `<root>/<agent>/state.json`. Writes of
 * one agent run one after another, each reading the latest state and writing
 * the whole file atomically, so concurrent writes of different keys never
 * lose one. Readers get copies.
 */
import { join } from "node:path";
import { ForagerError } from "../errors.js";
import { isPlainObject } from "../util/json.js";
import { readJsonFile, writeJsonAtomic } from "./atomic.js";
import type { StateStore } from "./types.js";

type State = Record<string, unknown>;

/** Applies changes; a key set to `undefined` is removed. */
function applyChanges(state: State, changes: State): State {
  const next: State = { ...state };
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete next[key];
    else next[key] = structuredClone(value);
  }
  return next;
}

export class FileStateStore implements StateStore {
  private readonly cache = new Map<string, State>();
  private readonly chains = new Map<string, Promise<unknown>>();

  constructor(readonly root: string) {}

  statePath(agent: string): string {
    return join(this.root, agent, "state.json");
  }

  async read(agent: string): Promise<State> {
    await this.chains.get(agent)?.catch(() => undefined);
    return structuredClone(await this.load(agent));
  }

  write(agent: string, changes: State): Promise<State> {
    const previous = this.chains.get(agent) ?? Promise.resolve();
    const run = previous
      .catch(() => undefined)
      .then(async () => {
        const next = applyChanges(await this.load(agent), changes);
        await writeJsonAtomic(this.statePath(agent), next);
        this.cache.set(agent, next);
        return structuredClone(next);
      });
    const tail = run.catch(() => undefined);
    this.chains.set(agent, tail);
    void tail.then(() => {
      if (this.chains.get(agent) === tail) this.chains.delete(agent);
    });
    return run;
  }

  private async load(agent: string): Promise<State> {
    const cached = this.cache.get(agent);
    if (cached) return cached;
    const path = this.statePath(agent);
    const value = await readJsonFile<unknown>(path);
    if (value !== undefined && !isPlainObject(value)) {
      throw new ForagerError("corrupt_file", `${path} does not hold a JSON object`, {
        hint: "fix or remove the file; it holds the agent's shared state",
      });
    }
    const state = (value ?? {}) as State;
    this.cache.set(agent, state);
    return state;
  }
}

export class MemoryStateStore implements StateStore {
  private readonly states = new Map<string, State>();

  async read(agent: string): Promise<State> {
    return structuredClone(this.states.get(agent) ?? {});
  }

  async write(agent: string, changes: State): Promise<State> {
    const next = applyChanges(this.states.get(agent) ?? {}, changes);
    this.states.set(agent, next);
    return structuredClone(next);
  }
}
