// Redis away (runtime.backend: redis, SPEC 9): triggers and webhooks that
// cannot be recorded answer 503 with Retry-After, never 202 and never 500;
// /health names the failing check; other errors still give a 500.
import { after, afterEach, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { schemas } from "../../src/config/schema.js";
import { ControlApi } from "../../src/server/control-api.js";
import { WebhookServer } from "../../src/server/webhook-server.js";
import { describeGuarantee, isEvictingPolicy } from "../../src/server/redis-check.js";
import { requireClusterToken } from "../../src/server/cluster-mode.js";
import { signGithub } from "../../src/server/verify/index.js";
import { ClusterBusyError, RedisUnavailableError } from "../../src/storage/redis/connection.js";
import { MemoryKeyStore } from "../../src/storage/keys.js";
import type { KeyStore } from "../../src/storage/types.js";
import { FakeRuntime } from "./fake-runtime.js";

const TOKEN = "t0ken-redis-away";
const SECRET = "hook-secret";
const down = () => new RedisUnavailableError("cannot reach Redis at redis://127.0.0.1:6379/0: connect ECONNREFUSED");

describe("control API with Redis away", () => {
  let runtime: FakeRuntime;
  let api: ControlApi;
  let base: string;
  let redisCheck = "ok";

  before(async () => {
    runtime = new FakeRuntime();
    api = new ControlApi({ runtime, token: TOKEN, extraChecks: async () => ({ redis: redisCheck }) });
    base = await api.listen("127.0.0.1", 0);
  });
  after(() => api.close());

  const call = (path: string, init: RequestInit = {}) =>
    fetch(`${base}${path}`, { ...init, headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", ...(init.headers ?? {}) } });

  test("a trigger that cannot be recorded answers 503 redis_unavailable with Retry-After", async () => {
    runtime.submitImpl = async () => {
      throw down();
    };
    const res = await call("/entry-points/api/trigger", { method: "POST", body: JSON.stringify({ input: {} }) });
    assert.equal(res.status, 503);
    assert.match(res.headers.get("retry-after") ?? "", /^\d+$/);
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, "redis_unavailable");
    assert.match(body.error.message, /Redis is unreachable/);
  });

  test("a trigger the cluster is too busy to admit answers 503 cluster_busy with Retry-After, not redis_unavailable", async () => {
    runtime.submitImpl = async () => {
      throw new ClusterBusyError("the admission lock of a.api stayed taken for 5000 ms; retry later");
    };
    const res = await call("/entry-points/api/trigger", { method: "POST", body: JSON.stringify({ input: {} }) });
    assert.equal(res.status, 503);
    assert.match(res.headers.get("retry-after") ?? "", /^\d+$/);
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, "cluster_busy");
    assert.match(body.error.message, /admission lock/);
  });

  test("reads while Redis is away answer 503 too, not 500", async () => {
    runtime.getExecution = async () => {
      throw down();
    };
    const res = await call("/executions/exec_01JABCDEF");
    assert.equal(res.status, 503);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, "redis_unavailable");
  });

  test("any other failure is still a 500", async () => {
    runtime.submitImpl = async () => {
      throw new Error("boom");
    };
    const res = await call("/entry-points/api/trigger", { method: "POST", body: JSON.stringify({ input: {} }) });
    assert.equal(res.status, 500);
  });

  test("/health is 503 redis_unavailable while the redis check fails, 200 once it passes", async () => {
    redisCheck = "redis_unavailable: Redis at redis://127.0.0.1:6379/0 does not answer (connect ECONNREFUSED)";
    const failing = await fetch(`${base}/health`);
    assert.equal(failing.status, 503);
    const body = (await failing.json()) as { status: string; failing: string[]; checks: Record<string, string> };
    assert.equal(body.status, "redis_unavailable");
    assert.deepEqual(body.failing, ["redis"]);
    assert.match(body.checks.redis!, /^redis_unavailable/);
    redisCheck = "ok";
    const ok = await fetch(`${base}/health`);
    assert.equal(ok.status, 200);
    assert.equal(((await ok.json()) as { checks: Record<string, string> }).checks.redis, "ok");
  });
});

describe("webhooks with Redis away", () => {
  const routes = [schemas().WebhookRouteSchema.parse({ source_id: "github", path: "/webhooks/github", secret: SECRET })];
  let runtime: FakeRuntime;
  let server: WebhookServer | undefined;

  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function start(keys: KeyStore): Promise<string> {
    runtime = new FakeRuntime();
    server = new WebhookServer({ routes, runtime, keys });
    return server.listen("127.0.0.1", 0);
  }

  function post(base: string, delivery: string) {
    const body = JSON.stringify({ action: "opened" });
    return fetch(`${base}/webhooks/github`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-github-delivery": delivery, "x-hub-signature-256": signGithub(body, SECRET) },
      body,
    });
  }

  test("an event that cannot be recorded answers 503 with Retry-After, and the delivery can come again", async () => {
    const base = await start(new MemoryKeyStore());
    runtime.ingestImpl = async () => {
      throw down();
    };
    const refused = await post(base, "d-1");
    assert.equal(refused.status, 503);
    assert.match(refused.headers.get("retry-after") ?? "", /^\d+$/);
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, "redis_unavailable");
    assert.equal(server!.stats.snapshot().github!.rejected, 1);
    // The claim was released: the provider's retry is taken, not called a duplicate.
    const working = new FakeRuntime();
    runtime.ingestImpl = (init) => working.ingestImpl(init);
    const retried = await post(base, "d-1");
    assert.equal(retried.status, 202);
  });

  test("an event the cluster is too busy to admit answers 503 cluster_busy, and the delivery can come again", async () => {
    const base = await start(new MemoryKeyStore());
    runtime.ingestImpl = async () => {
      throw new ClusterBusyError("the admission lock of a.hook stayed taken for 5000 ms; retry later");
    };
    const refused = await post(base, "busy-1");
    assert.equal(refused.status, 503);
    assert.match(refused.headers.get("retry-after") ?? "", /^\d+$/);
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, "cluster_busy");
    const working = new FakeRuntime();
    runtime.ingestImpl = (init) => working.ingestImpl(init);
    assert.equal((await post(base, "busy-1")).status, 202);
  });

  test("a delivery id that cannot be claimed (Redis away before the event) is a 503 too", async () => {
    const keys = new MemoryKeyStore();
    keys.putIfAbsent = async () => {
      throw down();
    };
    const base = await start(keys);
    const refused = await post(base, "d-2");
    assert.equal(refused.status, 503);
    assert.match(refused.headers.get("retry-after") ?? "", /^\d+$/);
    assert.equal(runtime.ingested.length, 0, "nothing was recorded");
  });
});

describe("cluster start-up checks", () => {
  test("FORAGER_TOKEN is required in redis mode, with a one-line reason", () => {
    assert.throws(() => requireClusterToken({}), /runtime\.backend is redis but FORAGER_TOKEN is not set/);
    assert.throws(() => requireClusterToken({ FORAGER_TOKEN: "  " }), /FORAGER_TOKEN is not set/);
    assert.equal(requireClusterToken({ FORAGER_TOKEN: "shared" }), "shared");
  });

  test("what each persistence setting promises, and which policies evict", () => {
    assert.equal(describeGuarantee({ appendonly: "yes", appendfsync: "always", maxmemoryPolicy: "noeviction" })[0]!.level, "info");
    const everysec = describeGuarantee({ appendonly: "yes", appendfsync: "everysec" })[0]!;
    assert.equal(everysec.level, "warn");
    assert.match(everysec.message, /last second/);
    assert.match(describeGuarantee({ appendonly: "no", appendfsync: "everysec" })[0]!.message, /appendonly no.*lost when redis-server restarts/);
    assert.match(describeGuarantee({ appendonly: "yes", appendfsync: "no" })[0]!.message, /OS decides/);
    assert.match(describeGuarantee({ configUnreadable: "ERR unknown command 'CONFIG'" })[0]!.message, /cannot read the Redis settings/);
    assert.equal(isEvictingPolicy("noeviction"), false);
    assert.equal(isEvictingPolicy("allkeys-lru"), true);
    assert.equal(isEvictingPolicy("volatile-ttl"), true);
    assert.equal(isEvictingPolicy(undefined), false);
  });
});
