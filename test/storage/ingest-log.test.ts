import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ingestLogPath, pruneIngestLogs } from "../../src/storage/ingest-log.js";
import { withTempDir } from "./helpers.js";

test("the ingest log is one file per source and UTC day", () => {
  assert.equal(ingestLogPath("/s", "github", "2026-11-23T23:59:59.999Z"), join("/s", "_events", "github", "2026-11-23.jsonl"));
  assert.equal(ingestLogPath("/s", "../evil", "2026-11-24T00:00:00.000Z"), join("/s", "_events", ".._evil", "2026-11-24.jsonl"));
});

test("retention removes whole days past max_age and keeps the rest", () =>
  withTempDir(async (dir) => {
    const folder = join(dir, "_events", "github");
    await mkdir(folder, { recursive: true });
    for (const day of ["2026-11-01", "2026-11-15", "2026-11-16", "2026-11-23"]) await writeFile(join(folder, `${day}.jsonl`), "{}\n");
    await writeFile(join(folder, "notes.txt"), "not a day file");
    const now = Date.parse("2026-11-23T12:00:00Z");
    const removed = await pruneIngestLogs(dir, 7 * 86_400, now);
    assert.equal(removed.length, 2);
    // 2026-11-16 ended 6.5 days ago: kept, like everything younger.
    assert.deepEqual((await readdir(folder)).sort(), ["2026-11-16.jsonl", "2026-11-23.jsonl", "notes.txt"]);
  }));
