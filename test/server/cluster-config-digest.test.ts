// Real `bin/forager.js serve` processes on one Redis (runtime.backend: redis):
// a node whose agent definitions differ from the cluster's refuses to start
// with one line on stderr and exit 2, unless it is started with --rolling,
// which starts it and, once it serves, makes its definitions the cluster's.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { loadAgent, mergeRuntimeConfig } from "../../src/config/index.js";
import { configDigest, shortDigest } from "../../src/runtime/cluster/config-digest.js";
import { binPath, repoRoot, STACK_LINE } from "../helpers/cli.js";
import { redisSkip, useRedis } from "../helpers/redis-server.js";
import { waitFor } from "../helpers/wait.js";

const skip = redisSkip();

const agentFile = (maxConcurrent: number) => `
name: digest-probe
llm: { provider: mock }
graph:
  nodes:
    - { id: answer, type: llm, prompt: "hello" }
entry_points:
  - { id: api, trigger_type: api, max_concurrent: ${maxConcurrent} }
runtime:
  backend: redis
  redis_prefix: \${REDIS_PREFIX}
`;

interface Node {
  child: ChildProcess;
  storage: string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

describe("serve: the cluster's agent definitions", { skip }, () => {
  let client: Redis;
  let dir: string;
  const nodes: Node[] = [];
  const token = randomBytes(16).toString("hex");
  const prefix = `digest-${randomBytes(3).toString("hex")}`;
  const env = () => ({
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? "/tmp",
    NO_COLOR: "1",
    FORAGER_TOKEN: token,
    FORAGER_REDIS_URL: redis.url,
    REDIS_PREFIX: prefix,
  });

  // Registered before useRedis(): every process is gone before the server stops.
  after(async () => {
    // Every process this file started, by its PID.
    await Promise.all(
      nodes.map(async (node) => {
        if (node.child.exitCode === null && node.child.signalCode === null && node.child.pid) process.kill(node.child.pid, "SIGKILL");
        await node.exited;
        await rm(node.storage, { recursive: true, force: true });
      }),
    );
    client?.disconnect();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  const redis = useRedis();

  before(async () => {
    client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    dir = await mkdtemp(join(tmpdir(), "forager-digest-"));
    await writeFile(join(dir, "old.yaml"), agentFile(4));
    await writeFile(join(dir, "new.yaml"), agentFile(5));
  });

  async function startServe(file: string, extra: string[] = [], extraEnv: Record<string, string> = {}): Promise<Node> {
    const storage = await mkdtemp(join(tmpdir(), "forager-digest-node-"));
    const child = spawn(process.execPath, [binPath, "serve", join(dir, file), "--storage", storage, ...extra], {
      cwd: repoRoot,
      env: { ...env(), ...extraEnv },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let err = "";
    child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
    const node = { child, storage, stderr: () => err, exited };
    nodes.push(node);
    return node;
  }

  /** Resolves once the node has written its serve.json; fails when it exits first. */
  function serving(node: Node): Promise<true> {
    return waitFor(
      `serve (pid ${node.child.pid}) to write serve.json`,
      async () => {
        if (node.child.exitCode !== null) throw new Error(`serve exited with ${node.child.exitCode}: ${node.stderr()}`);
        try {
          return (JSON.parse(await readFile(join(node.storage, "serve.json"), "utf8")) as { pid: number }).pid === node.child.pid;
        } catch {
          return false;
        }
      },
      { timeoutMs: 30_000, stepMs: 50 },
    );
  }

  /** The digest `serve` computes for a file, computed here the same way. */
  async function digestOf(file: string): Promise<string> {
    const agent = await loadAgent(join(dir, file), { env: env() });
    return configDigest([agent], mergeRuntimeConfig([agent]));
  }

  test("node 1 starts; node 2 with another max_concurrent exits 2 with one line; with --rolling it starts and its digest becomes the cluster's; after a full stop any files start", async () => {
    const [oldDigest, newDigest] = [await digestOf("old.yaml"), await digestOf("new.yaml")];
    assert.notEqual(oldDigest, newDigest);
    const key = `${prefix}:cluster:config`;

    const first = await startServe("old.yaml");
    await serving(first);
    assert.deepEqual(await client.hmget(key, "digest", "version"), [oldDigest, "1"], "the first node wrote its digest");

    // Only errors on stderr, so the refusal is all there is to read.
    const refused = await startServe("new.yaml", [], { LOG_LEVEL: "error" });
    const { code } = await refused.exited;
    assert.equal(code, 2, `exit code 2 (a configuration error); stderr: ${refused.stderr()}`);
    const lines = refused.stderr().trim().split("\n");
    assert.equal(lines.length, 1, `one line on stderr, got: ${refused.stderr()}`);
    const line = lines[0]!;
    assert.match(line, /^error: /);
    assert.ok(line.includes(shortDigest(newDigest)), `names this node's digest ${shortDigest(newDigest)}: ${line}`);
    assert.ok(line.includes(shortDigest(oldDigest)), `names the cluster's digest ${shortDigest(oldDigest)}: ${line}`);
    assert.match(line, /stop the nodes running the other files first, or start this node with --rolling/);
    assert.doesNotMatch(refused.stderr(), STACK_LINE);
    assert.equal(await client.hget(key, "digest"), oldDigest, "a refused node writes nothing");

    const rolling = await startServe("new.yaml", ["--rolling"], { LOG_FORMAT: "json" });
    await serving(rolling);
    const warning = await waitFor("the --rolling warning naming both digests", () =>
      rolling
        .stderr()
        .split("\n")
        .find((l) => l.includes('"level":"warn"') && l.includes("--rolling: starting") && l.includes(shortDigest(oldDigest)) && l.includes(shortDigest(newDigest))),
    );
    assert.ok(warning);
    // Once it serves, the deploy converges: its digest is the cluster's, version 2.
    await waitFor("the --rolling node's digest recorded as the cluster's", async () => (await client.hget(key, "digest")) === newDigest, { stepMs: 50 });
    assert.equal(await client.hget(key, "version"), "2");
    assert.equal(first.child.exitCode, null, "the first node keeps running");

    // Every node stops (SIGTERM, by PID): with no node left, the next start needs no --rolling, whatever its files.
    for (const node of [first, rolling]) process.kill(node.child.pid!, "SIGTERM");
    assert.deepEqual((await Promise.all([first.exited, rolling.exited])).map((e) => e.code), [0, 0]);
    const restarted = await startServe("old.yaml", [], { LOG_FORMAT: "json" });
    await serving(restarted);
    assert.deepEqual(await client.hmget(key, "digest", "version"), [oldDigest, "3"], "the restarted cluster runs the old files again");
    assert.ok(restarted.stderr().includes(`replace the cluster's ${shortDigest(newDigest)}: no node was running`), restarted.stderr());

    // A SIGHUP reload is held to the same rule: other definitions are refused and the node keeps
    // serving the cluster's; a change that leaves the digest alone (a comment) reloads.
    await writeFile(join(dir, "old.yaml"), agentFile(6));
    process.kill(restarted.child.pid!, "SIGHUP");
    const refusal = await waitFor("the reload refused", () => restarted.stderr().split("\n").find((l) => l.includes("reload failed")));
    assert.ok(refusal.includes(`differ from the cluster's (digest ${shortDigest(oldDigest)})`), refusal);
    assert.match(refusal, /restarting each node with --rolling/);
    assert.equal(await client.hget(key, "digest"), oldDigest);
    await writeFile(join(dir, "old.yaml"), `# a comment only\n${agentFile(4)}`);
    process.kill(restarted.child.pid!, "SIGHUP");
    await waitFor("the harmless reload", () => restarted.stderr().includes("reloaded: nothing changed") || undefined);
    assert.equal(restarted.child.exitCode, null, "the node kept serving");
  });
});
