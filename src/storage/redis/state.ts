/**
 * An agent's shared state in Redis (DISTRIBUTED.md 4.2): the hash
 * `<prefix>:state:<agent>`, one field per key, each value JSON. A write is
 * one Lua script: the fence check, the changes (HSET, or HDEL for a key set
 * to `undefined`, as the file store does), then the whole new state. So a
 * write is atomic across processes, last write wins per key, and a holder
 * of the agent's mutex that has since lost it cannot overwrite the state of
 * the holder after it: its fence is older than `<prefix>:mutex:<agent>:fence`,
 * which each grant of the mutex increments.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ForagerError } from "../../errors.js";
import { isPlainObject } from "../../util/json.js";
import { StaleFenceError } from "../fenced-state.js";
import type { StateStore, StateWriteOptions } from "../types.js";
import type { RedisLink } from "./connection.js";
import { StoreLink } from "./store-link.js";
import { withRedis } from "./errors.js";
import { LuaScript } from "./script.js";

type State = Record<string, unknown>;

/** A field to remove; JSON text is never empty. */
const REMOVE = "";

// KEYS[1] state hash, KEYS[2] mutex fence counter; ARGV[1] fence ("" = none), then field, value pairs.
const WRITE = new LuaScript(`
if ARGV[1] ~= "" then
  local current = tonumber(redis.call("GET", KEYS[2]) or "0")
  if tonumber(ARGV[1]) < current then return {"stale", tostring(current)} end
end
for i = 2, #ARGV, 2 do
  if ARGV[i + 1] == "" then redis.call("HDEL", KEYS[1], ARGV[i])
  else redis.call("HSET", KEYS[1], ARGV[i], ARGV[i + 1]) end
end
return {"ok", redis.call("HGETALL", KEYS[1])}
`);

// KEYS[1] state hash, KEYS[2] import marker; ARGV field, value pairs. Imports once per cluster, only into no state.
const IMPORT = new LuaScript(`
if redis.call("SET", KEYS[2], "1", "NX") == false then return 0 end
if redis.call("EXISTS", KEYS[1]) == 1 then return 0 end
for i = 1, #ARGV, 2 do redis.call("HSET", KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1
`);

export interface RedisStateStoreOptions {
  /**
   * A file-storage folder whose `<agent>/state.json` is imported the first
   * time an agent's state is used, if Redis holds none for it yet (moving a
   * single-node deployment onto the cluster keeps its state).
   */
  importFrom?: string;
  /** close() closes the link (and a fresh one serves later calls). */
  ownsLink?: boolean;
}

function parseState(flat: string[]): State {
  const state: State = {};
  for (let i = 0; i + 1 < flat.length; i += 2) state[flat[i]!] = JSON.parse(flat[i + 1]!);
  return state;
}

export class RedisStateStore implements StateStore {
  private readonly imported = new Map<string, Promise<void>>();

  private readonly held: StoreLink;

  constructor(
    link: RedisLink,
    private readonly options: RedisStateStoreOptions = {},
  ) {
    this.held = new StoreLink(link, options.ownsLink);
  }

  private get link(): RedisLink {
    return this.held.link;
  }

  close(): Promise<void> {
    return this.held.close();
  }

  /** The hash holding `agent`'s state. */
  stateKey(agent: string): string {
    return this.link.key("state", agent);
  }

  /** The counter each grant of `agent`'s mutex increments (the Redis mutex writes it). */
  fenceKey(agent: string): string {
    return this.link.key("mutex", agent, "fence");
  }

  async read(agent: string): Promise<State> {
    await this.importOnce(agent);
    return withRedis(this.link, "reading state", async (client) => {
      const hash = await client.hgetall(this.stateKey(agent));
      return parseState(Object.entries(hash).flat());
    });
  }

  async write(agent: string, changes: State, options: StateWriteOptions = {}): Promise<State> {
    await this.importOnce(agent);
    const args: string[] = [options.fence === undefined ? "" : String(options.fence)];
    for (const [key, value] of Object.entries(changes)) args.push(key, value === undefined ? REMOVE : JSON.stringify(value));
    const answer = (await withRedis(this.link, "writing state", (client) =>
      WRITE.run(client, [this.stateKey(agent), this.fenceKey(agent)], args),
    )) as [string, string[] | string];
    if (answer[0] === "stale") throw new StaleFenceError(agent, options.fence!, Number(answer[1]));
    return parseState(answer[1] as string[]);
  }

  /** Imports `<importFrom>/<agent>/state.json` once per agent and process (and once per cluster, by a marker key). */
  private importOnce(agent: string): Promise<void> {
    const root = this.options.importFrom;
    if (root === undefined) return Promise.resolve();
    let done = this.imported.get(agent);
    if (!done) {
      done = this.importFile(agent, join(root, agent, "state.json"));
      this.imported.set(agent, done);
      done.catch(() => this.imported.delete(agent));
    }
    return done;
  }

  private async importFile(agent: string, path: string): Promise<void> {
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
      throw err;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = undefined;
    }
    if (!isPlainObject(value)) {
      throw new ForagerError("corrupt_file", `${path} does not hold a JSON object, so it cannot be imported into Redis`, {
        hint: "fix or remove the file; it holds the agent's shared state",
      });
    }
    const args: string[] = [];
    for (const [key, v] of Object.entries(value)) if (v !== undefined) args.push(key, JSON.stringify(v));
    await withRedis(this.link, "importing state", (client) => IMPORT.run(client, [this.stateKey(agent), this.link.key("state", agent, "imported")], args));
  }
}
