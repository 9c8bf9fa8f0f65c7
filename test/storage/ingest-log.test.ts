import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ForagerEvent } from "../../src/events/types.js";
import { FileIngestLog, ingestLogPath, noIngestLog, pruneIngestLogs } from "../../src/storage/ingest-log.js";
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

test("the file ingest log appends each event to its source's day, whole lines, and keeps working after close", () =>
  withTempDir(async (dir) => {
    const log = new FileIngestLog(dir);
    const event = (id: string, source: string, timestamp: string) =>
      ({ id, type: "webhook_received", stream_id: source, timestamp, correlation_id: null, data: { n: id } }) as unknown as ForagerEvent;
    await Promise.all([
      log.append(event("e1", "github", "2026-11-23T10:00:00.000Z")),
      log.append(event("e2", "github", "2026-11-23T11:00:00.000Z")),
      log.append(event("e3", "stripe", "2026-11-24T00:00:01.000Z")),
    ]);
    await log.close();
    await log.append(event("e4", "github", "2026-11-23T12:00:00.000Z"));
    await log.close();
    const ids = async (source: string, day: string) =>
      (await readFile(join(dir, "_events", source, `${day}.jsonl`), "utf8"))
        .trim()
        .split("\n")
        .map((line) => (JSON.parse(line) as { id: string }).id);
    assert.deepEqual(await ids("github", "2026-11-23"), ["e1", "e2", "e4"]);
    assert.deepEqual(await ids("stripe", "2026-11-24"), ["e3"]);
    const removed = await log.prune(86_400, Date.parse("2026-11-25T12:00:00Z"));
    assert.deepEqual(removed, [join(dir, "_events", "github", "2026-11-23.jsonl")]);
  }));

test("without storage nothing is logged and nothing pruned", async () => {
  await noIngestLog.append({ id: "e1" } as unknown as ForagerEvent);
  assert.deepEqual(await noIngestLog.prune(0, Date.now()), []);
});
