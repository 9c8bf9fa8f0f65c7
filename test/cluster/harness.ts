/**
 * The cluster suite's harness (SPEC 9, DISTRIBUTED §7): real
 * `bin/forager.js serve` processes, each with its own --storage, the same
 * FORAGER_TOKEN and `runtime.backend: redis` on the suite's own
 * redis-server (one key prefix per test), all on 127.0.0.1. Every process
 * it starts is remembered and killed by PID in `stopAll()`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { binPath, repoRoot } from "../helpers/cli.js";
import type { RedisServer } from "../helpers/redis-server.js";
import { waitFor } from "../helpers/wait.js";
import { serveEnv } from "../reliability/helpers.js";
import { sourceDir } from "../helpers/paths.js";

export const FIXTURES = join(sourceDir(import.meta.url), "fixtures");
export const HOOK_SECRET = "cluster-hook-secret-4b1d";
export const TERMINAL = new Set(["completed", "failed", "cancelled", "timed_out", "budget_exceeded", "interrupted"]);

export interface ServeInfo {
  pid: number;
  url: string;
  token: string;
  webhook_url?: string;
}

export interface HttpAnswer<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Headers;
}

export class ClusterNode {
  private out: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly index: number,
    readonly child: ChildProcess,
    readonly storage: string,
    readonly info: ServeInfo,
    logSoFar: string,
  ) {
    this.out = logSoFar;
    child.stderr?.on("data", (d: Buffer) => (this.out = (this.out + d.toString()).slice(-200_000)));
    this.exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
      else child.once("exit", (code, signal) => resolve({ code, signal }));
    });
  }

  get pid(): number {
    return this.info.pid;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The node's log so far (JSON lines). */
  log(): string {
    return this.out;
  }

  /** A control API request with the shared token; the body parsed when it is JSON. */
  async control<T = Record<string, unknown>>(path: string, init: { method?: string; body?: unknown; signal?: AbortSignal } = {}): Promise<HttpAnswer<T>> {
    const res = await fetch(`${this.info.url}${path}`, {
      method: init.method ?? (init.body === undefined ? "GET" : "POST"),
      headers: { authorization: `Bearer ${this.info.token}`, ...(init.body === undefined ? {} : { "content-type": "application/json" }) },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      signal: init.signal ?? AbortSignal.timeout(20_000),
    });
    return { status: res.status, body: parseJson(await res.text()) as T, headers: res.headers };
  }

  trigger(agent: string, entryPoint: string, input: unknown = {}): Promise<HttpAnswer> {
    return this.control(`/agents/${agent}/entry-points/${entryPoint}/trigger`, { body: { input } });
  }

  /** A GitHub-style signed delivery to this node's webhook listener. */
  async deliver(deliveryId: string, payload: unknown): Promise<HttpAnswer> {
    if (!this.info.webhook_url) throw new Error(`node ${this.index} has no webhook listener`);
    const body = JSON.stringify(payload);
    const res = await fetch(`${this.info.webhook_url}/webhooks/github`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-github-event": "issues",
        "x-github-delivery": deliveryId,
        "x-hub-signature-256": `sha256=${createHmac("sha256", HOOK_SECRET).update(body).digest("hex")}`,
      },
      body,
      signal: AbortSignal.timeout(20_000),
    });
    return { status: res.status, body: parseJson(await res.text()) as Record<string, unknown>, headers: res.headers };
  }

  kill(signal: NodeJS.Signals = "SIGKILL"): void {
    if (this.alive) process.kill(this.pid, signal);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export interface Span {
  id: string;
  session: string;
  ep: string;
  attempt: number;
  pid: number;
  kind: "start" | "end";
  t: number;
}

/** Everything one test's cluster needs: its prefix, its nodes, a Redis client for checks. */
export class Cluster {
  readonly nodes: ClusterNode[] = [];
  readonly token = randomBytes(16).toString("hex");
  readonly prefix: string;
  private readonly redisClient: Redis;
  private readonly folders: string[] = [];

  constructor(
    readonly redis: RedisServer,
    readonly files: string[],
    readonly env: Record<string, string>,
    name: string,
  ) {
    this.prefix = `${name}-${randomBytes(3).toString("hex")}`;
    this.redisClient = new Redis(redis.url, { maxRetriesPerRequest: 1, lazyConnect: true });
    this.redisClient.on("error", () => {});
  }

  /** The environment every node gets: a `forager serve`'s, with the cluster's token, Redis and prefix and this suite's hook secret. */
  nodeEnv(): Record<string, string> {
    return serveEnv({
      FORAGER_TOKEN: this.token,
      FORAGER_REDIS_URL: this.redis.url,
      REDIS_PREFIX: this.prefix,
      HOOK_SECRET,
      ...this.env,
    });
  }

  /** Starts `count` more nodes at once and waits until each has written its serve.json. */
  async start(count: number): Promise<ClusterNode[]> {
    const started = await Promise.all(Array.from({ length: count }, () => this.startNode()));
    return started;
  }

  private async startNode(): Promise<ClusterNode> {
    const storage = await mkdtemp(join(tmpdir(), "forager-cluster-node-"));
    this.folders.push(storage);
    const child = spawn(process.execPath, [binPath, "serve", ...this.files, "--storage", storage], {
      cwd: repoRoot,
      env: this.nodeEnv(),
      stdio: ["ignore", "ignore", "pipe"],
    });
    track(child);
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-20_000)));
    const info = await waitFor(
      `serve (pid ${child.pid}) to write ${storage}/serve.json`,
      async () => {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`serve exited early (${child.exitCode ?? child.signalCode}): ${stderr}`);
        try {
          const parsed = JSON.parse(await readFile(join(storage, "serve.json"), "utf8")) as ServeInfo;
          return parsed.pid === child.pid ? parsed : undefined;
        } catch {
          return undefined;
        }
      },
      { timeoutMs: 30_000, stepMs: 50 },
    ).catch((err: unknown) => {
      child.kill("SIGKILL");
      throw err;
    });
    const node = new ClusterNode(this.nodes.length, child, storage, info, stderr);
    this.nodes.push(node);
    return node;
  }

  get alive(): ClusterNode[] {
    return this.nodes.filter((n) => n.alive);
  }

  /** Some node that is still running. */
  any(): ClusterNode {
    const node = this.alive[0];
    if (!node) throw new Error("no node of the cluster is running");
    return node;
  }

  async commands(): Promise<Redis> {
    if (this.redisClient.status === "wait") await this.redisClient.connect();
    return this.redisClient;
  }

  /** The start/end spans the fixtures' functions recorded, in order. */
  async spans(): Promise<Span[]> {
    const redis = await this.commands();
    const lines = await redis.lrange(`${this.prefix}:test:spans`, 0, -1);
    return lines.map((line) => JSON.parse(line) as Span);
  }

  /** Executions whose function started on `pid` and has not ended. */
  async runningOn(pid: number): Promise<string[]> {
    const open = new Map<string, Span>();
    for (const span of await this.spans()) {
      const key = `${span.id}/${span.attempt}`;
      if (span.kind === "start") open.set(key, span);
      else open.delete(key);
    }
    return [...open.values()].filter((s) => s.pid === pid).map((s) => s.id);
  }

  /** Polls `GET /executions?agent=` on a live node until every id is terminal; returns the records by id. */
  async waitTerminal(agent: string, ids: Iterable<string>, timeoutMs: number): Promise<Map<string, Record<string, unknown>>> {
    const wanted = new Set(ids);
    return waitFor(
      `${wanted.size} executions of ${agent} to end`,
      async () => {
        const answer = await this.any().control<Record<string, unknown>[]>(`/executions?agent=${agent}&limit=5000`).catch(() => undefined);
        if (!answer || answer.status !== 200 || !Array.isArray(answer.body)) return undefined;
        const byId = new Map(answer.body.map((r) => [String(r.execution_id), r]));
        for (const id of wanted) if (!TERMINAL.has(String(byId.get(id)?.status))) return undefined;
        return byId;
      },
      { timeoutMs, stepMs: 200 },
    );
  }

  /** Kills every node by PID, closes the Redis client and removes the nodes' folders. */
  async stop(): Promise<void> {
    for (const node of this.nodes) node.kill("SIGKILL");
    await Promise.all(this.nodes.map((n) => n.exited));
    this.redisClient.disconnect();
    await Promise.all(this.folders.map((f) => rm(f, { recursive: true, force: true })));
  }
}

/** Every serve process the suite started, for the last-resort kill in `after()`. */
const spawned = new Set<ChildProcess>();

function track(child: ChildProcess): void {
  spawned.add(child);
  child.once("exit", () => spawned.delete(child));
}

/** Kills (SIGKILL, by PID) every serve process still running. */
export async function killAllNodes(): Promise<void> {
  const waiting = [...spawned].map(
    (child) =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        if (child.pid) process.kill(child.pid, "SIGKILL");
      }),
  );
  await Promise.all(waiting);
}

/** Most executions running at once among spans passing `filter` (a start and its end bound one run). */
export function maxOverlap(spans: readonly Span[], filter: (s: Span) => boolean = () => true): number {
  const points: [number, number][] = [];
  const starts = new Map<string, number>();
  for (const span of spans) {
    if (!filter(span)) continue;
    const key = `${span.id}/${span.attempt}`;
    if (span.kind === "start") starts.set(key, span.t);
    else if (starts.has(key)) {
      points.push([starts.get(key)!, 1], [span.t, -1]);
      starts.delete(key);
    }
  }
  // An end at the same instant as a start counts first: back to back is not overlapping.
  points.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let max = 0;
  for (const [, delta] of points) {
    now += delta;
    max = Math.max(max, now);
  }
  return max;
}

/** Runs `task(i)` for i in [0, count) with at most `concurrency` at once; results in order. */
export async function pool<T>(count: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      for (let i = next++; i < count; i = next++) results[i] = await task(i);
    }),
  );
  return results;
}
