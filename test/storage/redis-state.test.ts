import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { RedisFencedState } from "../../src/runtime/cluster/fenced-state.js";
import { FencedStateStore, StaleFenceError } from "../../src/storage/fenced-state.js";
import { RedisStateStore } from "../../src/storage/redis/state.js";
import { redisSkip, useRedis } from "../helpers/redis-server.js";
import { withTempDir } from "./helpers.js";

describe("RedisStateStore", { skip: redisSkip() }, () => {
  const { link, prefix } = useRedis({ label: "state" });

  test("read and write: JSON values in the hash <prefix>:state:<agent>, undefined removes a key, null is a value", async () => {
    const p = prefix();
    const state = new RedisStateStore(link(p));
    assert.deepEqual(await state.read("bot"), {});
    assert.deepEqual(await state.write("bot", { count: 1, tags: ["a"], deep: { x: null } }), { count: 1, tags: ["a"], deep: { x: null } });
    assert.deepEqual(await state.write("bot", { count: 2, gone: null }), { count: 2, tags: ["a"], deep: { x: null }, gone: null });
    assert.deepEqual(await state.write("bot", { tags: undefined, gone: undefined }), { count: 2, deep: { x: null } });
    assert.deepEqual(await state.read("bot"), { count: 2, deep: { x: null } });
    assert.deepEqual(await state.read("other"), {}, "agents do not share state");
    const hash = await (await link(p).commands()).hgetall(`${p}:state:bot`);
    assert.deepEqual(hash, { count: "2", deep: '{"x":null}' });
  });

  test("concurrent writes of different keys from two processes lose none", async () => {
    const p = prefix();
    const a = new RedisStateStore(link(p));
    const b = new RedisStateStore(link(p));
    await Promise.all(Array.from({ length: 40 }, (_, n) => (n % 2 ? a : b).write("bot", { [`k${n}`]: n })));
    const state = await a.read("bot");
    assert.equal(Object.keys(state).length, 40);
    assert.equal(state.k39, 39);
  });

  test("a write whose fence is older than <prefix>:mutex:<agent>:fence is refused with stale_fence and changes nothing", async () => {
    const p = prefix();
    const state = new RedisStateStore(link(p));
    const client = await link(p).commands();
    const fenceKey = `${p}:mutex:bot:fence`;
    assert.equal(state.fenceKey("bot"), fenceKey);
    // No grant recorded yet: any fence is current.
    assert.deepEqual(await state.write("bot", { n: 1 }, { fence: 1 }), { n: 1 });
    await client.incr(fenceKey); // grant 1
    const first = 1;
    assert.deepEqual(await state.write("bot", { n: 2 }, { fence: first }), { n: 2 });
    const second = await client.incr(fenceKey); // grant 2, on another node
    await assert.rejects(state.write("bot", { n: 99, extra: true }, { fence: first }), (err: unknown) => {
      assert.ok(err instanceof StaleFenceError);
      assert.equal(err.code, "stale_fence");
      assert.match(err.message, /agent "bot" refused: it carries fence 1, .* fence 2/);
      return true;
    });
    assert.deepEqual(await state.read("bot"), { n: 2 }, "the refused write changed nothing");
    assert.deepEqual(await state.write("bot", { n: 3 }, { fence: second }), { n: 3 });
    assert.deepEqual(await state.write("other", { v: 1 }, { fence: 0 }), { v: 1 }, "fences are per agent");
    assert.deepEqual(await state.write("bot", { n: 4 }), { n: 4 }, "an unfenced write (not synchronized) is not checked");
  });

  test("through FencedStateStore: the fence reaches Redis, so a grant made elsewhere refuses the old holder", async () => {
    const p = prefix();
    const inner = new RedisStateStore(link(p));
    const client = await link(p).commands();
    const fence = await client.incr(`${p}:mutex:bot:fence`);
    // This process still believes its grant is current (its local view lags the cluster).
    const holder = new FencedStateStore(inner, "bot", fence, () => fence);
    assert.deepEqual(await holder.write("bot", { owner: "first" }), { owner: "first" });
    await client.incr(`${p}:mutex:bot:fence`);
    await assert.rejects(holder.write("bot", { owner: "zombie" }), StaleFenceError);
    assert.deepEqual(await inner.read("bot"), { owner: "first" });
  });

  test("through the cluster's RedisFencedState: the fence reaches the store and is checked in the same script as the write", async () => {
    const p = prefix();
    const inner = new RedisStateStore(link(p));
    const client = await link(p).commands();
    const fence = await client.incr(`${p}:mutex:bot:fence`);
    const holder = new RedisFencedState(inner, link(p), "bot", fence);
    assert.deepEqual(await holder.write("bot", { n: 1 }), { n: 1 });
    await client.incr(`${p}:mutex:bot:fence`);
    await assert.rejects(holder.write("bot", { n: 2 }), (err: unknown) => err instanceof StaleFenceError && /fence 1, .* fence 2/.test(err.message));
    assert.deepEqual(await inner.read("bot"), { n: 1 });
  });

  test("imports <storage>/<agent>/state.json once, only when Redis holds no state for the agent", async () => {
    await withTempDir(async (dir) => {
      const p = prefix();
      await mkdir(join(dir, "bot"), { recursive: true });
      await writeFile(join(dir, "bot", "state.json"), JSON.stringify({ count: 7, list: [1, 2] }));
      const state = new RedisStateStore(link(p), { importFrom: dir });
      assert.deepEqual(await state.read("bot"), { count: 7, list: [1, 2] });
      assert.deepEqual(await state.write("bot", { count: undefined, list: undefined }), {});
      // Another process starting later does not bring the old file back.
      const later = new RedisStateStore(link(p), { importFrom: dir });
      assert.deepEqual(await later.read("bot"), {});
      assert.deepEqual(await later.read("nofile"), {});

      await writeFile(join(dir, "bot", "state.json"), "[1]");
      const q = prefix();
      await assert.rejects(new RedisStateStore(link(q), { importFrom: dir }).read("bot"), (err: unknown) => (err as { code?: string }).code === "corrupt_file");
    });
  });
});
