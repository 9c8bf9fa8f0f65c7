/**
 * The agent's shared state (SPEC 4.3): `<root>/<agent>/state.json`. Writes of
 * one agent run one after another, each reading the latest state and writing
 * the whole file atomically, so concurrent writes of different keys never
 * lose one. Readers get copies.
 */
import { join } from "node:path";
import { ForagerError, UsageError } from "../errors.js";
import { isPlainObject } from "../util/json.js";
import { KeyedQueue } from "../util/keyed-queue.js";
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

/** The StateStore of a storage directory: each agent's state in `<root>/<agent>/state.json`. */
export class FileStateStore implements StateStore {
  private readonly cache = new Map<string, State>();
  /** Writes of one agent, one after another. */
  private readonly writes = new KeyedQueue();

  constructor(
    /** @internal The storage directory. */
    readonly root: string,
  ) {}

  /** @internal Where the agent's state file is. */
  statePath(agent: string): string {
    return join(this.root, agent, "state.json");
  }

  async read(agent: string): Promise<State> {
    await this.writes.idle(agent);
    return structuredClone(await this.load(agent));
  }

  write(agent: string, changes: State): Promise<State> {
    return this.writes.run(agent, async () => {
      const next = applyChanges(await this.load(agent), changes);
      await writeJsonAtomic(this.statePath(agent), next);
      this.cache.set(agent, next);
      return structuredClone(next);
    });
  }

  private async load(agent: string): Promise<State> {
    const cached = this.cache.get(agent);
    if (cached) return cached;
    const path = this.statePath(agent);
    const value = await readJsonFile<unknown>(path);
    if (value !== undefined && !isPlainObject(value)) {
      throw new ForagerError("corrupt_file", `${path} does not hold a JSON object (it holds ${Array.isArray(value) ? "an array" : typeof value})`, {
        hint: "fix or remove the file; it holds the agent's shared state",
      });
    }
    const state = (value ?? {}) as State;
    this.cache.set(agent, state);
    return state;
  }
}

/**
 * Reads `agent`'s shared state once, so that a state file that cannot be
 * parsed stops a start (`serve`, or a `run` of an entry point that uses the
 * state) with one line naming the file and what to do, instead of starting
 * and then failing every execution that touches the state.
 */
export async function assertStateReadable(store: StateStore, agent: string): Promise<void> {
  try {
    await store.read(agent);
  } catch (err) {
    if (!(err instanceof ForagerError) || err.code !== "corrupt_file") throw err;
    throw new UsageError(`${err.message}; it holds agent ${agent}'s shared state: fix the file or move it aside, then start again`, { cause: err });
  }
}

/** A StateStore in memory, for a runtime without a storage path and for tests: the state does not survive the process. */
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
