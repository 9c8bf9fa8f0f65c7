import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile, writeFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { FileStateStore, MemoryStateStore } from "../../src/storage/state.js";
import { ForagerError } from "../../src/errors.js";
import { withTempDir } from "./helpers.js";

describe("FileStateStore", () => {
  test("50 concurrent writes of different keys are all kept, and persist for a new instance", async () => {
    await withTempDir(async (dir) => {
      const store = new FileStateStore(dir);
      await Promise.all(Array.from({ length: 50 }, (_, i) => store.write("triage", { [`k${i}`]: i })));
      const state = await store.read("triage");
      assert.equal(Object.keys(state).length, 50);
      assert.equal(state.k49, 49);
      const onDisk = JSON.parse(await readFile(join(dir, "triage", "state.json"), "utf8"));
      assert.equal(Object.keys(onDisk).length, 50);
      assert.deepEqual(await readdir(join(dir, "triage")), ["state.json"], "no temp files left");
      assert.deepEqual(await new FileStateStore(dir).read("triage"), state);
      assert.deepEqual(await new FileStateStore(dir).read("other"), {});
    });
  });

  test("last write wins per key; undefined removes a key; read returns a copy", async () => {
    await withTempDir(async (dir) => {
      const store = new FileStateStore(dir);
      await store.write("a", { count: 1, list: [1] });
      const after = await store.write("a", { count: 2, gone: undefined });
      assert.deepEqual(after, { count: 2, list: [1] });
      await store.write("a", { list: undefined });
      const copy = await store.read("a");
      copy.count = 99;
      assert.deepEqual(await store.read("a"), { count: 2 });
    });
  });

  test("a state file that is not a JSON object is a clear error", async () => {
    await withTempDir(async (dir) => {
      await mkdir(join(dir, "bad"), { recursive: true });
      await writeFile(join(dir, "bad", "state.json"), "[1,2]");
      await assert.rejects(new FileStateStore(dir).read("bad"), (err: unknown) => err instanceof ForagerError && err.message.includes("state.json"));
    });
  });
});

describe("MemoryStateStore", () => {
  test("keeps keys per agent and hands out copies", async () => {
    const store = new MemoryStateStore();
    await Promise.all(Array.from({ length: 10 }, (_, i) => store.write("a", { [`k${i}`]: { i } })));
    const state = await store.read("a");
    assert.equal(Object.keys(state).length, 10);
    (state.k1 as { i: number }).i = 100;
    assert.deepEqual((await store.read("a")).k1, { i: 1 });
    assert.deepEqual(await store.read("b"), {});
  });
});
