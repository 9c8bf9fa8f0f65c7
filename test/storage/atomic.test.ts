import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { readJsonFile, writeFileAtomic } from "../../src/storage/atomic.js";
import { ForagerError } from "../../src/errors.js";
import { withTempDir } from "./helpers.js";

describe("atomic files", () => {
  test("creates parent folders, sets the mode and leaves no temp file behind", async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, "a", "b", "c.json");
      await writeFileAtomic(path, '{"x":1}', { mode: 0o600 });
      assert.equal(await readFile(path, "utf8"), '{"x":1}');
      assert.equal((await stat(path)).mode & 0o777, 0o600);
      assert.deepEqual(await readdir(join(dir, "a", "b")), ["c.json"]);
    });
  });

  test("concurrent writers: the file always holds one complete version, never a mix", async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, "big.json");
      const versions = Array.from({ length: 20 }, (_, i) => JSON.stringify({ v: i, pad: String(i % 10).repeat(200_000) }));
      // A first version is in place, so every read below must find a whole file.
      await writeFileAtomic(path, versions[0]!);
      const reads: Promise<void>[] = [];
      const writes = versions.map((text, i) => {
        // Read while the others are still writing.
        if (i % 4 === 0) {
          reads.push(
            readJsonFile<{ v: number; pad: string }>(path).then((value) => {
              assert.ok(value, "a reader found no file while writers replaced it");
              assert.equal(value.pad, String(value.v % 10).repeat(200_000));
            }),
          );
        }
        return writeFileAtomic(path, text);
      });
      await Promise.all([...writes, ...reads]);
      const final = await readJsonFile<{ v: number; pad: string }>(path);
      assert.ok(final && versions.includes(JSON.stringify(final)));
      assert.deepEqual(await readdir(dir), ["big.json"]);
    });
  });

  test("readJsonFile: a missing file is undefined, a corrupt one a clear error naming it", async () => {
    await withTempDir(async (dir) => {
      assert.equal(await readJsonFile(join(dir, "nope.json")), undefined);
      const bad = join(dir, "bad.json");
      await writeFile(bad, '{"half": ');
      await assert.rejects(readJsonFile(bad), (err: unknown) => {
        assert.ok(err instanceof ForagerError);
        assert.equal(err.code, "corrupt_file");
        assert.ok(err.message.includes(bad));
        return true;
      });
    });
  });

  // Small files are written with synchronous calls, large ones through the thread pool: both fail the same way.
  for (const [size, text] of [["small", "new"], ["large (over 64 KiB)", "n".repeat(100_000)]] as const) {
    test(`a failed ${size} write leaves the old content and no temp file`, async () => {
      await withTempDir(async (dir) => {
        const path = join(dir, "keep.json");
        await writeFileAtomic(path, "old");
        // A folder in the way of the rename makes the write fail.
        const blocked = join(dir, "blocked");
        await writeFileAtomic(join(blocked, "inner"), "x");
        await assert.rejects(writeFileAtomic(blocked, text));
        assert.equal(await readFile(path, "utf8"), "old");
        assert.deepEqual((await readdir(dir)).sort(), ["blocked", "keep.json"]);
      });
    });
  }

  test("a large file into missing folders: created, whole, no temp file left", async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, "x", "y", "big.txt");
      const text = "b".repeat(100_000);
      await writeFileAtomic(path, text);
      assert.equal(await readFile(path, "utf8"), text);
      assert.deepEqual(await readdir(join(dir, "x", "y")), ["big.txt"]);
    });
  });
});
