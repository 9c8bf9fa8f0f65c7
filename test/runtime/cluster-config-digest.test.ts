// The cluster's agent-definitions digest (DISTRIBUTED §5 `<prefix>:cluster:config`):
// the canonical serialization and what it covers, then the Redis check that
// lets the first node write it and refuses a node whose digest differs.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { agentFromObject } from "../../src/config/load.js";
import { mergeRuntimeConfig } from "../../src/config/merge.js";
import type { Agent } from "../../src/config/schema.js";
import {
  adoptClusterConfig,
  canonicalJson,
  checkClusterConfig,
  clusterConfigKey,
  configDigest,
  releaseStartClaim,
  shortDigest,
} from "../../src/runtime/cluster/config-digest.js";
import { redisSkip, useRedis } from "../helpers/redis-server.js";

const noScrub = { scrub: (text: string) => text };

/** An agent file as a plain object, with two entry points, a webhook route and per-node settings. */
function definition(overrides: { maxConcurrent?: number; runtime?: Record<string, unknown>; secret?: string; apiKey?: string } = {}) {
  return {
    name: "triage",
    llm: { provider: "mock", model: "m1", api_key: overrides.apiKey ?? "sk-node-one-0001" },
    graph: {
      nodes: [
        { id: "classify", type: "llm", prompt: "Classify {{input.title}}", output_keys: ["label"] },
        { id: "store", type: "function", module: "lib/store.mjs", export: "save" },
      ],
      edges: [{ from: "classify", to: "store" }],
    },
    entry_points: [
      { id: "api", trigger_type: "api", max_concurrent: overrides.maxConcurrent ?? 4, overlap: "queue" },
      { id: "hourly", trigger_type: "timer", trigger_config: { interval_minutes: 60 } },
    ],
    runtime: {
      webhook_routes: [{ source_id: "github", path: "/hooks/github", secret: overrides.secret ?? "hook-secret-node-one" }],
      ...overrides.runtime,
    },
  };
}

/** Loads like `serve` does: each file resolved, then merged. */
function digestOf(files: unknown[], options = noScrub): string {
  // No path: function modules are not looked for on disk.
  const agents: Agent[] = files.map((file) => agentFromObject(file, { env: {} }));
  return configDigest(agents, mergeRuntimeConfig(agents), options);
}

/** The same object with the keys of every map in reverse order. */
function reversedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reversedKeys);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reversedKeys(v)]));
  }
  return value;
}

describe("config digest: canonical form", () => {
  test("canonicalJson sorts keys at every depth, keeps array order and drops undefined members", () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [3, 1], c: null }, u: undefined }), '{"a":{"c":null,"d":[3,1]},"b":1}');
    assert.equal(canonicalJson({ a: 1 }), canonicalJson({ a: 1, b: undefined }));
    assert.notEqual(canonicalJson([1, 2]), canonicalJson([2, 1]));
  });

  test("the digest is sha256 hex, and its short form is its first 12 digits", () => {
    const digest = digestOf([definition()]);
    assert.match(digest, /^[0-9a-f]{64}$/);
    assert.equal(shortDigest(digest), digest.slice(0, 12));
  });

  test("the same config with its keys in another order gives the same digest", () => {
    const original = definition();
    const reordered = reversedKeys(original);
    assert.notEqual(JSON.stringify(original), JSON.stringify(reordered), "the test really reorders");
    assert.equal(digestOf([reordered]), digestOf([original]));
  });

  test("defaults written out or left implicit give the same digest", () => {
    const explicit = definition();
    (explicit.entry_points[1] as Record<string, unknown>).max_concurrent = 10;
    (explicit.entry_points[1] as Record<string, unknown>).isolation_level = "shared";
    assert.equal(digestOf([explicit]), digestOf([definition()]));
  });

  test("per-node settings (ports, hosts, storage path, grace, connections, Redis URL) and the files' location do not count", () => {
    const base = digestOf([definition()]);
    const otherNode = definition({
      runtime: {
        control_host: "0.0.0.0",
        control_port: 7401,
        webhook_host: "10.0.0.2",
        webhook_port: 9090,
        storage_path: "/var/lib/forager-node-2",
        shutdown_grace_seconds: 5,
        max_connections: 50,
        cache_ttl: 5,
        execution_result_max: 10,
        backend: "redis",
        redis_url: "redis://other-host:6379/0",
      },
    });
    assert.equal(digestOf([otherNode]), base);
    const elsewhere = [{ ...agentFromObject(definition(), { env: {} }), source_path: "/opt/other/place/triage.yaml", base_dir: "/opt/other/place" }];
    assert.equal(configDigest(elsewhere, mergeRuntimeConfig(elsewhere), noScrub), base);
  });

  test("secret values do not count (they may differ while one is rotated), a secret interpolated into a string neither", () => {
    const base = digestOf([definition()]);
    assert.equal(digestOf([definition({ secret: "hook-secret-node-two", apiKey: "sk-node-two-0002" })]), base);
    // A route without a secret is a different route: the marker stays.
    const unsigned = definition();
    delete (unsigned.runtime.webhook_routes[0] as Record<string, unknown>).secret;
    (unsigned.runtime.webhook_routes[0] as Record<string, unknown>).allow_unsigned = true;
    assert.notEqual(digestOf([unsigned]), base);
    // The log scrubber's secrets are redacted inside any string.
    const withToken = (token: string) => {
      const file = definition();
      file.graph.nodes[0]!.prompt = `Classify with token ${token}`;
      return file;
    };
    const scrub = { scrub: (text: string) => text.replace(/tok-[a-z0-9]+/g, "[REDACTED]") };
    assert.equal(digestOf([withToken("tok-one111")], scrub), digestOf([withToken("tok-two222")], scrub));
  });

  test("by default a secret-named variable substituted into any string (a URL here) is redacted, as in logs", () => {
    const file = {
      name: "fetcher",
      graph: { nodes: [{ id: "get", type: "tool", tool: "api" }] },
      tools: { api: { type: "http", url: "https://api.example.com/items?key=${API_KEY}", headers: { "X-Trace": "on", Authorization: "Bearer ${API_KEY}" } } },
    };
    // Both agents stay loaded while hashed, so the log scrubber knows both values (as each node knows its own).
    const one = agentFromObject(file, { env: { API_KEY: "key-value-node-one-1234" } });
    const two = agentFromObject(file, { env: { API_KEY: "key-value-node-two-5678" } });
    assert.equal(configDigest([one], mergeRuntimeConfig([one])), configDigest([two], mergeRuntimeConfig([two])));
    assert.notEqual(configDigest([one], mergeRuntimeConfig([one]), noScrub), configDigest([two], mergeRuntimeConfig([two]), noScrub), "the URL alone tells them apart");
    // What is not secret still counts.
    const traced = agentFromObject({ ...file, tools: { api: { ...file.tools.api, headers: { ...file.tools.api.headers, "X-Trace": "off" } } } }, { env: { API_KEY: "key-value-node-one-1234" } });
    assert.notEqual(configDigest([traced], mergeRuntimeConfig([traced])), configDigest([one], mergeRuntimeConfig([one])));
  });

  test("an entry point's max_concurrent changed gives another digest", () => {
    assert.notEqual(digestOf([definition({ maxConcurrent: 5 })]), digestOf([definition()]));
  });

  test("what admission, timers and jobs depend on changes the digest: overlap, a timer's interval, an edge, max_concurrent_executions, worker_loss, a route", () => {
    const base = digestOf([definition()]);
    const variants: Array<[string, (d: ReturnType<typeof definition>) => void]> = [
      ["overlap", (d) => (d.entry_points[0]!.overlap = "reject")],
      ["timer interval", (d) => (d.entry_points[1]!.trigger_config = { interval_minutes: 30 })],
      ["edge", (d) => (d.graph.edges[0]!.to = "classify")],
      ["function module as written", (d) => (d.graph.nodes[1]!.module = "./lib/store.mjs")],
      ["max_concurrent_executions", (d) => (d.runtime = { ...d.runtime, max_concurrent_executions: 7 } as typeof d.runtime)],
      ["worker_loss", (d) => (d.runtime = { ...d.runtime, worker_loss: { retries: 0 } } as typeof d.runtime)],
      ["route path", (d) => (d.runtime.webhook_routes[0]!.path = "/hooks/gh")],
    ];
    const seen = new Set([base]);
    for (const [what, change] of variants) {
      const file = definition();
      change(file);
      const digest = digestOf([file]);
      assert.ok(!seen.has(digest), `${what} changes the digest`);
      seen.add(digest);
    }
  });

  test("the order of the agent files on the command line does not count", () => {
    const other = { name: "aide", llm: { provider: "mock" }, graph: { nodes: [{ id: "a", type: "llm", prompt: "hi" }] }, runtime: { webhook_routes: [{ source_id: "x", path: "/x", allow_unsigned: true }] } };
    assert.equal(digestOf([definition(), other]), digestOf([other, definition()]));
  });
});

const skip = redisSkip();

describe("config digest: the cluster's record in Redis", { skip }, () => {
  const { link } = useRedis();
  const fresh = (name: string) => `digest-${name}-${randomBytes(3).toString("hex")}`;
  const A = "a".repeat(64);
  const B = "b".repeat(64);

  test("the first node writes its digest with version 1; a node with the same digest starts; another digest is refused and nothing is written", async () => {
    const l = link(fresh("first"));
    const first = await checkClusterConfig(l, A, "host:1");
    assert.equal(first.kind, "created");
    assert.equal(first.record.version, 1);
    await (await l.commands()).set(l.key("cluster", "alive"), "host:1:abcd", "PX", 15_000);
    assert.equal((await checkClusterConfig(l, A, "host:2")).kind, "same");
    const other = await checkClusterConfig(l, B, "host:3");
    assert.equal(other.kind, "differs");
    assert.equal(other.record.digest, A);
    assert.equal(other.record.node, "host:1");
    const stored = await (await l.commands()).hgetall(clusterConfigKey(l));
    assert.equal(stored.digest, A);
    assert.equal(stored.version, "1");
  });

  test("nodes starting at once: with the same digest all start; with different digests exactly one wins", async () => {
    const same = link(fresh("same"));
    const sameKinds = (await Promise.all([1, 2, 3, 4].map((i) => checkClusterConfig(same, A, `host:${i}`)))).map((c) => c.kind).sort();
    assert.deepEqual(sameKinds, ["created", "same", "same", "same"]);

    const mixed = link(fresh("mixed"));
    const checks = await Promise.all([A, B, A, B].map((digest, i) => checkClusterConfig(mixed, digest, `host:${i}`)));
    const created = checks.filter((c) => c.kind === "created");
    assert.equal(created.length, 1);
    const winner = created[0]!.record.digest;
    const kinds = checks.map((c, i) => `${[A, B, A, B][i] === winner ? "winner" : "loser"}:${c.kind}`).sort();
    assert.deepEqual(kinds, ["loser:differs", "loser:differs", "winner:created", "winner:same"]);
  });

  test("a stored digest no node runs or is starting with is taken over with version + 1; a running cluster keeps its digest", async () => {
    const l = link(fresh("takeover"));
    assert.equal((await checkClusterConfig(l, A, "host:1")).kind, "created");
    // The first node has not joined yet, but it claimed its digest while starting.
    const starting = await checkClusterConfig(l, B, "host:2");
    assert.deepEqual([starting.kind, starting.kind === "differs" && starting.alive], ["differs", false]);
    // It serves (joined, claim released) and then stops as the last node: cluster:alive is gone.
    await releaseStartClaim(l, A);
    const taken = await checkClusterConfig(l, B, "host:2");
    assert.equal(taken.kind, "taken_over");
    assert.equal(taken.record.version, 2);
    assert.ok(taken.kind === "taken_over" && taken.previous.digest === A && taken.previous.node === "host:1");
    // Releasing another digest's claim changes nothing: B's own claim still holds.
    await releaseStartClaim(l, A);
    assert.equal((await checkClusterConfig(l, A, "host:3")).kind, "differs");
    // Once B's node serves, a live cluster keeps its digest.
    await releaseStartClaim(l, B);
    await (await l.commands()).set(l.key("cluster", "alive"), "host:2:beef", "PX", 15_000);
    const running = await checkClusterConfig(l, A, "host:3");
    assert.deepEqual([running.kind, running.kind === "differs" && running.alive], ["differs", true]);
    assert.equal(await (await l.commands()).hget(clusterConfigKey(l), "digest"), B);
  });

  test("the claim of a node that died while starting lapses", async () => {
    const l = link(fresh("lapse"));
    assert.equal((await checkClusterConfig(l, A, "host:1", 0)).kind, "created");
    assert.equal((await checkClusterConfig(l, B, "host:2")).kind, "taken_over");
  });

  test("adopting (a --rolling node once up) replaces the digest and bumps the version; adopting the same one changes nothing", async () => {
    const l = link(fresh("adopt"));
    await checkClusterConfig(l, A, "host:1");
    const adopted = await adoptClusterConfig(l, B, "host:2");
    assert.deepEqual([adopted.changed, adopted.record.digest, adopted.record.version], [true, B, 2]);
    const again = await adoptClusterConfig(l, B, "host:3");
    assert.deepEqual([again.changed, again.record.version, again.record.node], [false, 2, "host:2"]);
    await (await l.commands()).set(l.key("cluster", "alive"), "host:2:beef", "PX", 15_000);
    assert.equal((await checkClusterConfig(l, B, "host:4")).kind, "same");
    assert.equal((await checkClusterConfig(l, A, "host:5")).kind, "differs");
  });
});
