/**
 * Torn last lines of append-only logs (SPEC 4.4): a fragment left by a crash
 * or a full disk is set aside before the next append, so no record is ever
 * glued onto it, and a reader keeps the records around an unreadable line.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { AppendFiles, LineFiles, type Appender } from "../../src/storage/append-files.js";
import { JsonLinesAppender, readJsonLines } from "../../src/storage/event-log.js";
import { SessionLogFiles } from "../../src/storage/session-logs.js";
import { FileKeyStore } from "../../src/storage/keys.js";
import { FileSessionStore } from "../../src/storage/sessions.js";
import { FakeClock } from "../../src/util/clock.js";
// @ts-expect-error plain JS test helper without types
import { install } from "../helpers/disk-full.mjs";
import { makeEvent, makeRecord, withTempDir } from "./helpers.js";

/** Paths containing this substring are "full" while set; undefined = disk has room. */
let fullFor: string | undefined;
(install as (fn: () => string | undefined) => void)(() => fullFor);

async function withFullDisk<T>(which: string, fn: () => Promise<T>): Promise<T> {
  fullFor = which;
  try {
    return await fn();
  } finally {
    fullFor = undefined;
  }
}

/** Every line of `path`; fails when one does not parse or the file ends without a newline. */
async function wholeLines(path: string): Promise<Array<Record<string, unknown>>> {
  const text = await readFile(path, "utf8");
  assert.ok(text.endsWith("\n"), `${path} ends in a partial line: ${JSON.stringify(text.slice(-60))}`);
  return text
    .split("\n")
    .filter((line) => line.length > 0)
    .map((line) => {
      try {
        return JSON.parse(line);
      } catch {
        assert.fail(`${path} has an unreadable line: ${line}`);
      }
    });
}

const appenders: Array<[string, () => Appender & { closeAll?(): Promise<void> }]> = [
  ["AppendFiles (kept open)", () => new AppendFiles()],
  ["LineFiles (open per append)", () => new LineFiles()],
  ["SessionLogFiles (open while the session appends)", () => new SessionLogFiles()],
];

for (const [name, make] of appenders) {
  describe(name, () => {
    test("a torn last line is set aside before the first append, never glued to the next record", () =>
      withTempDir(async (dir) => {
        const path = join(dir, "logs", "a.jsonl");
        await mkdir(join(dir, "logs"));
        await writeFile(path, '{"n":1}\n{"n":2}\n{"n":3,"data":"cut sho');
        const files = make();
        await files.append(path, '{"n":4}\n');
        await files.append(path, '{"n":5}\n');
        await files.closeAll?.();
        assert.deepEqual(await wholeLines(path), [{ n: 1 }, { n: 2 }, { n: 4 }, { n: 5 }]);
        assert.equal(await readFile(`${path}.torn`, "utf8"), '{"n":3,"data":"cut sho\n', "the fragment is kept aside");
      }));

    test("a file that is all fragment (no newline at all) is set aside whole", () =>
      withTempDir(async (dir) => {
        const path = join(dir, "b.jsonl");
        await writeFile(path, '{"n":1,"x":');
        const files = make();
        await files.append(path, '{"n":2}\n');
        await files.closeAll?.();
        assert.deepEqual(await wholeLines(path), [{ n: 2 }]);
      }));

    test("a write cut short by a full disk: the next append starts on a fresh line", () =>
      withTempDir(async (dir) => {
        const path = join(dir, "c.jsonl");
        const files = make();
        await files.append(path, '{"n":1}\n');
        await withFullDisk("c.jsonl", async () => {
          await assert.rejects(files.append(path, `${JSON.stringify({ n: 2, pad: "x".repeat(200) })}\n`), { code: "ENOSPC" });
        });
        // The failed write left half a line on disk.
        assert.ok(!(await readFile(path, "utf8")).endsWith("\n"));
        await files.append(path, '{"n":3}\n');
        await files.closeAll?.();
        assert.deepEqual(await wholeLines(path), [{ n: 1 }, { n: 3 }]);
      }));
  });
}

test("session event logs: a torn tail from a crash is set aside, later events read whole", () =>
  withTempDir(async (dir) => {
    const record = makeRecord(1);
    const store = new FileSessionStore(dir);
    await store.save(record);
    await store.appendEvents(record.agent, record.session_id, [makeEvent(record, "execution_started", 1)]);
    await store.flush();
    const path = join(store.sessionDir(record.agent, record.session_id), "events.jsonl");
    const text = await readFile(path, "utf8");
    await writeFile(path, text + text.slice(0, 40)); // a crash mid-append

    const after = new FileSessionStore(dir);
    await after.init();
    await after.appendEvents(record.agent, record.session_id, [makeEvent(record, "node_started", 2)]);
    await after.flush();
    assert.deepEqual(
      (await wholeLines(path)).map((e) => e.type),
      ["execution_started", "node_started"],
    );
  }));

test("the session index: a torn tail and a full disk mid-append never cost a neighbour's line", () =>
  withTempDir(async (dir) => {
    const store = new FileSessionStore(dir);
    await store.save(makeRecord(1));
    await store.flush();
    const indexPath = join(dir, "triage", "index.jsonl");
    await writeFile(indexPath, (await readFile(indexPath, "utf8")) + '{"execution_id":"exec_torn","sess');

    const after = new FileSessionStore(dir);
    await after.init();
    await after.save(makeRecord(2));
    await withFullDisk("index.jsonl", async () => {
      await assert.rejects(after.save(makeRecord(3)), { code: "ENOSPC" });
    });
    await after.save(makeRecord(4));
    await after.flush();
    const ids = (await wholeLines(indexPath)).map((e) => e.execution_id);
    assert.deepEqual([...new Set(ids)].sort(), ["exec_0001", "exec_0002", "exec_0004"]);
    const listed = (await new FileSessionStore(dir).list()).map((s) => s.execution_id).sort();
    assert.ok(listed.includes("exec_0004") && listed.includes("exec_0002") && listed.includes("exec_0001"));
  }));

test("the key store: a key written after a full disk survives a restart", () =>
  withTempDir(async (dir) => {
    const clock = new FakeClock(0);
    const keys = new FileKeyStore(dir, { clock });
    assert.deepEqual(await keys.putIfAbsent("webhook:github", "d1", "evt_1", 3600), {});
    await withFullDisk("_keys", async () => {
      await assert.rejects(keys.putIfAbsent("webhook:github", "d2", "evt_2", 3600), { code: "ENOSPC" });
    });
    assert.deepEqual(await keys.putIfAbsent("webhook:github", "d3", "evt_3", 3600), {});
    await keys.close();
    await wholeLines(join(dir, "_keys", "webhook%3Agithub.jsonl"));

    const restarted = new FileKeyStore(dir, { clock });
    assert.deepEqual(await restarted.putIfAbsent("webhook:github", "d3", "evt_again", 3600), { existing: "evt_3" });
    assert.deepEqual(await restarted.putIfAbsent("webhook:github", "d1", "evt_again", 3600), { existing: "evt_1" });
    assert.equal(await restarted.get("webhook:github", "d2"), undefined, "the failed claim was never taken");
    await restarted.close();
  }));

test("a JSON-lines appender keeps batches whole around a failed write", () =>
  withTempDir(async (dir) => {
    const path = join(dir, "d.jsonl");
    const log = new JsonLinesAppender();
    await log.append(path, [{ n: 1 }]);
    await withFullDisk("d.jsonl", async () => {
      await assert.rejects(log.append(path, [{ n: 2, pad: "y".repeat(100) }]), { code: "ENOSPC" });
    });
    await log.append(path, [{ n: 3 }, { n: 4 }]);
    assert.deepEqual(await wholeLines(path), [{ n: 1 }, { n: 3 }, { n: 4 }]);
  }));

test("a reader skips an unreadable line and keeps the records on both sides", () =>
  withTempDir(async (dir) => {
    const path = join(dir, "e.jsonl");
    await writeFile(path, '{"n":1}\n{"n":2,"cut\n{"n":3}\n');
    assert.deepEqual(await readJsonLines(path), { values: [{ n: 1 }, { n: 3 }], skipped: 1 });
  }));
