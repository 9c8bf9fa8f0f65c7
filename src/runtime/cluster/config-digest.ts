/**
 * The cluster's agent-definitions digest (DISTRIBUTED §5 `<prefix>:cluster:config`,
 * §6 "config or version skew"): every node of a cluster must decide
 * admission (`decideAdmission`), schedule timers and run jobs from the same
 * definitions, or a job queued by one node is run by another under other
 * rules. Each node hashes what must agree; the first node of a cluster
 * records its digest in Redis; a node whose digest differs refuses to start
 * unless `serve --rolling`.
 *
 * What is hashed: every loaded agent (graph, entry points, tools, MCP
 * servers, LLM settings, goal) and the cluster-wide runtime settings
 * (max_concurrent_executions, webhook routes, session retention,
 * worker_loss), as resolved by the loader: defaults applied, `${VAR}`
 * substituted. What is not: per-node settings (listen hosts and ports,
 * storage paths, connection caps, the drain grace, the node's in-memory
 * results cache, how it reaches Redis), where the file lies on this
 * machine, and the values of secrets (API keys, webhook secrets, secret
 * headers and environment values), which may differ per node while a secret
 * is rotated. Anything not listed as per node counts: a setting added to
 * the schema later is covered by default, so a forgotten entry errs on the
 * side of refusing, never of mixing.
 */
import { createHash } from "node:crypto";
import type { Agent, RuntimeConfig } from "../../config/schema.js";
import { isSecretName, scrubSecrets, REDACTED } from "../../logging/redact.js";
import type { RedisLink } from "../../storage/redis/connection.js";
import { LuaScript } from "../../storage/redis/script.js";

/**
 * Bumped whenever what is hashed, or how, changes: nodes of forager versions
 * that hash differently then see different digests and need `--rolling`,
 * which is right, since they may also read the definitions differently.
 */
export const DIGEST_FORMAT = 1;

/** `runtime:` settings that may differ between the nodes of one cluster. */
export const PER_NODE_RUNTIME_KEYS = [
  "webhook_host",
  "webhook_port",
  "control_host",
  "control_port",
  "storage_path",
  "max_connections",
  "shutdown_grace_seconds",
  // The finished-results cache is each node's own memory (DISTRIBUTED §8).
  "cache_ttl",
  "execution_result_max",
  // How this node reaches Redis; the prefix is the cluster's name, equal by construction.
  "backend",
  "redis_url",
  "redis_prefix",
] as const satisfies readonly (keyof RuntimeConfig)[];

/** Where an agent file lies differs between machines; what it says is what counts. */
const PER_NODE_AGENT_KEYS = ["source_path", "base_dir", "runtime"] as const;

/** A digest as people read it: its first 12 hex digits (48 bits, plenty to tell configs apart). */
export function shortDigest(digest: string): string {
  return digest.slice(0, 12);
}

/**
 * JSON with object keys sorted (by UTF-16 code units) at every depth, so two
 * configs that differ only in key order serialize alike. Array order is kept:
 * it means something (the first node is the default entry node, edges are
 * tried in order). `undefined` object members are left out, as JSON does,
 * so `{a: undefined}` equals `{}`.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === "boolean" || typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") return Number.isFinite(value) ? JSON.stringify(value) : JSON.stringify(String(value));
  if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? "null" : canonicalJson(item))).join(",")}]`;
  if (typeof value === "object") {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`).join(",")}}`;
  }
  throw new TypeError(`cannot hash a ${typeof value} in an agent definition`);
}

/** Replaces the values of secret-named entries of a string map (headers, environment). */
function redactNamed(map: Record<string, string> | undefined, all = false): Record<string, string> | undefined {
  if (!map) return map;
  return Object.fromEntries(
    Object.entries(map).map(([name, value]) => [name, all || isSecretName(name) || name.toLowerCase() === "authorization" ? REDACTED : value]),
  );
}

/**
 * An agent as it matters to the cluster: without its per-node keys, with the
 * secrets the loader knows as secrets (agentSecrets in config/resolve.ts)
 * replaced by a marker, so whether a route is signed counts, and its key does not.
 *
 * Function nodes keep `module` as written in the file, relative to the
 * file. The module's content is not hashed, on purpose: the digest is about
 * the agent files, which decide admission, schedules and the graph's
 * control flow. Code they call (function modules and what those import,
 * shell tools' programs, MCP servers) ships with them in a deploy; hashing
 * one entry file would cover only part of that code, would read code files
 * before the node may start, and would make a rebuild that changes nothing
 * (line endings, a bundler's comment) refuse nodes.
 */
function clusterAgent(agent: Agent): Record<string, unknown> {
  const out: Record<string, unknown> = { ...agent };
  for (const key of PER_NODE_AGENT_KEYS) delete out[key];
  if (agent.llm?.api_key !== undefined) out.llm = { ...agent.llm, api_key: REDACTED };
  out.tools = Object.fromEntries(
    Object.entries(agent.tools).map(([name, tool]) => {
      if (tool.type === "http") return [name, { ...tool, headers: redactNamed(tool.headers) }];
      if (tool.type === "shell") return [name, { ...tool, env: redactNamed(tool.env) }];
      return [name, tool];
    }),
  );
  out.mcp_servers = Object.fromEntries(
    // Every MCP header value counts as a secret, as for log scrubbing.
    Object.entries(agent.mcp_servers).map(([name, server]) => [name, { ...server, headers: redactNamed(server.headers, true), env: redactNamed(server.env) }]),
  );
  return out;
}

/** The cluster-wide runtime settings: everything but the per-node keys, routes by path, their secrets redacted. */
function clusterRuntime(config: RuntimeConfig): Record<string, unknown> {
  const out: Record<string, unknown> = { ...config };
  for (const key of PER_NODE_RUNTIME_KEYS) delete out[key];
  out.webhook_routes = [...config.webhook_routes]
    // Paths are unique and matched exactly, so the order of the files on the command line does not matter.
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map((route) => ({
      ...route,
      ...(route.secret !== undefined ? { secret: REDACTED } : {}),
      ...(route.secrets !== undefined ? { secrets: route.secrets.map(() => REDACTED) } : {}),
    }));
  return out;
}

/** Every string through `scrub`: a secret interpolated into a URL or a prompt is redacted too. */
function scrubStrings(value: unknown, scrub: (text: string) => string): unknown {
  if (typeof value === "string") return scrub(value);
  if (Array.isArray(value)) return value.map((item) => scrubStrings(item, scrub));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, scrubStrings(item, scrub)]));
  }
  return value;
}

export interface DigestOptions {
  /**
   * Redacts secret values inside any string (default: the log scrubber, which
   * knows the secrets the loader found, such as `${API_TOKEN}` substituted
   * into a URL).
   */
  scrub?: (text: string) => string;
}

/** What the digest covers, as one plain value: agents by name (the files' order does not matter), then the runtime settings. */
export function clusterDefinition(agents: readonly Agent[], config: RuntimeConfig, options: DigestOptions = {}): unknown {
  const sorted = [...agents].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return scrubStrings(
    { format: DIGEST_FORMAT, agents: sorted.map(clusterAgent), runtime: clusterRuntime(config) },
    options.scrub ?? scrubSecrets,
  );
}

/** The sha256 (hex) of the canonical serialization of what must agree across the nodes. */
export function configDigest(agents: readonly Agent[], config: RuntimeConfig, options: DigestOptions = {}): string {
  return createHash("sha256").update(canonicalJson(clusterDefinition(agents, config, options))).digest("hex");
}

// ------------------------------------------------------------------ Redis

/** The hash `<prefix>:cluster:config` as read back. */
export interface ClusterConfigRecord {
  digest: string;
  /** 1 when first written, +1 each time the digest is replaced (a takeover, or a `--rolling` node once up). */
  version: number;
  /** The node that wrote the digest (`host:pid`). */
  node: string;
  /** When, in ms since the epoch (Redis TIME). */
  at: number;
}

export type ClusterConfigCheck =
  /** No digest was stored: this node's is now the cluster's. */
  | { kind: "created"; record: ClusterConfigRecord }
  | { kind: "same"; record: ClusterConfigRecord }
  /** Another digest was stored, but no node was running or starting with it: this node's replaced it. */
  | { kind: "taken_over"; previous: ClusterConfigRecord; record: ClusterConfigRecord }
  /**
   * Another digest belongs to running nodes (`alive`), or to a node still
   * starting (`alive` false): nothing was written.
   */
  | { kind: "differs"; record: ClusterConfigRecord; alive: boolean };

/**
 * How long a digest just written by a starting node stays claimed: the node
 * writes it before its runtime starts and joins the cluster
 * (`cluster:alive`), so a node with other definitions starting at the same
 * moment must not take it over. The node releases the claim once it serves
 * (`releaseStartClaim`); the time limit only matters when it dies first.
 */
export const START_CLAIM_MS = 60_000;

// The check in one script, so that two nodes starting at once cannot both
// write: Redis runs it atomically (SET NX semantics, extended to the
// takeover of a digest that no node runs or is starting with).
// KEYS: cluster:config, cluster:alive. ARGV: digest, node, claim ms.
// Returns {kind, digest, version, node, at, then for differs: alive (0/1),
// for taken_over: the previous digest, version, node, at}.
const CHECK_SCRIPT = new LuaScript(`
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cur = redis.call('HMGET', KEYS[1], 'digest', 'version', 'node', 'at', 'claim_until')
local function write(version)
  redis.call('HSET', KEYS[1], 'digest', ARGV[1], 'version', version, 'node', ARGV[2], 'at', now, 'claim_until', now + tonumber(ARGV[3]))
end
if not cur[1] then
  write(1)
  return {'created', ARGV[1], 1, ARGV[2], now}
end
local old = {cur[1], tonumber(cur[2]) or 1, cur[3] or '', tonumber(cur[4]) or 0}
if cur[1] == ARGV[1] then
  return {'same', old[1], old[2], old[3], old[4]}
end
local alive = redis.call('EXISTS', KEYS[2])
if alive == 1 or (tonumber(cur[5]) or 0) > now then
  return {'differs', old[1], old[2], old[3], old[4], alive}
end
write(old[2] + 1)
return {'taken_over', ARGV[1], old[2] + 1, ARGV[2], now, old[1], old[2], old[3], old[4]}
`);

// KEYS: cluster:config. ARGV: digest. The starting node now serves (and has joined): its claim is no longer needed.
const RELEASE_SCRIPT = new LuaScript(`
if redis.call('HGET', KEYS[1], 'digest') == ARGV[1] then redis.call('HDEL', KEYS[1], 'claim_until') end
return 1
`);

// KEYS: cluster:config. ARGV: digest, node. Makes the digest the cluster's; version +1 when it changes.
const ADOPT_SCRIPT = new LuaScript(`
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cur = redis.call('HMGET', KEYS[1], 'digest', 'version', 'node', 'at')
if cur[1] == ARGV[1] then
  return {'same', cur[1], tonumber(cur[2]) or 1, cur[3] or '', tonumber(cur[4]) or 0}
end
local version = (tonumber(cur[2]) or 0) + 1
redis.call('HSET', KEYS[1], 'digest', ARGV[1], 'version', version, 'node', ARGV[2], 'at', now)
redis.call('HDEL', KEYS[1], 'claim_until')
return {'adopted', ARGV[1], version, ARGV[2], now}
`);

function recordAt(reply: unknown[], offset: number): ClusterConfigRecord {
  return { digest: String(reply[offset]), version: Number(reply[offset + 1]), node: String(reply[offset + 2] ?? ""), at: Number(reply[offset + 3]) };
}

/** The key of the cluster's config hash, `<prefix>:cluster:config`. */
export function clusterConfigKey(link: RedisLink): string {
  return link.key("cluster", "config");
}

/**
 * Compares this node's digest with the cluster's, atomically writing it when
 * the cluster has none, or when the stored one is not in use: no node is
 * alive (`<prefix>:cluster:alive` expired, or was deleted by the last node
 * to stop) and no node that wrote it is still starting (its claim). That
 * makes "stop every node, change the files, start them" work without
 * `--rolling`, while two nodes starting at once with different definitions
 * still cannot both win.
 */
export async function checkClusterConfig(link: RedisLink, digest: string, node: string, claimMs = START_CLAIM_MS): Promise<ClusterConfigCheck> {
  const client = await link.commands();
  const reply = (await CHECK_SCRIPT.run(client, [clusterConfigKey(link), link.key("cluster", "alive")], [digest, node, claimMs])) as unknown[];
  const kind = String(reply[0]);
  const record = recordAt(reply, 1);
  if (kind === "taken_over") return { kind, record, previous: recordAt(reply, 5) };
  if (kind === "differs") return { kind, record, alive: Number(reply[5]) === 1 };
  if (kind === "created" || kind === "same") return { kind, record };
  throw new Error(`unexpected answer from the cluster config check: ${kind}`);
}

/** Called once a node serves (it has joined the cluster): drops the start claim of its digest, if it wrote one. */
export async function releaseStartClaim(link: RedisLink, digest: string): Promise<void> {
  await RELEASE_SCRIPT.run(await link.commands(), [clusterConfigKey(link)], [digest]);
}

/** Makes `digest` the cluster's (a `--rolling` node once it serves): true when it replaced another one. */
export async function adoptClusterConfig(link: RedisLink, digest: string, node: string): Promise<{ changed: boolean; record: ClusterConfigRecord }> {
  const client = await link.commands();
  const reply = (await ADOPT_SCRIPT.run(client, [clusterConfigKey(link)], [digest, node])) as unknown[];
  return { changed: reply[0] === "adopted", record: recordAt(reply, 1) };
}
