/**
 * Torn last lines under a real `forager serve` (SPEC 4.4): a disk that fills
 * up in mid-append, and a kill -9 in mid-append, never cost an accepted
 * webhook its event line or its de-duplication key, so a redelivery after a
 * restart is still a duplicate and runs nothing.
 *
 * The full disk is simulated at the file-system seam (test/helpers/disk-full.mjs
 * loaded with --import): a tmpfs cannot be mounted in a test portably.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, truncateSync, statSync, writeFileSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { isTerminal, type ExecutionStatus } from "../../src/result.js";
import { tempDir } from "../helpers/cli.js";
import { deliver, startServe, stopHard, type DeliveryResponse, type DiskRecord, type ServeProcess } from "./helpers.js";
import { waitFor } from "../helpers/wait.js";

const DISK_FULL = pathToFileURL(join(import.meta.dirname, "..", "helpers", "disk-full.mjs")).href;
// No timer executions writing in the background: only webhooks touch the disk.
const QUIET = { TICK_SECONDS: "3600" };

const running: ServeProcess[] = [];
const dirs: Array<{ cleanup(): Promise<void> }> = [];
after(async () => {
  for (const serve of running) await stopHard(serve);
  for (const dir of dirs) await dir.cleanup();
});

async function serveOn(storage: string, env: Record<string, string> = {}): Promise<ServeProcess> {
  const serve = await startServe(storage, { env: { ...QUIET, ...env } });
  running.push(serve);
  return serve;
}

async function stop(serve: ServeProcess, signal: NodeJS.Signals): Promise<void> {
  serve.kill(signal);
  await serve.exited;
}

/** The newest day file of the github ingest log. */
function ingestLog(storage: string): string {
  const dir = join(storage, "_events", "github");
  const days = readdirSync(dir).filter((name) => name.endsWith(".jsonl")).sort();
  return join(dir, days.at(-1)!);
}

const keyLog = (storage: string) => join(storage, "_keys", "webhook-deliveries.jsonl");

/** Parses every line; fails on a partial last line or an unreadable line. */
function wholeLines<T = Record<string, unknown>>(path: string): T[] {
  const text = readFileSync(path, "utf8");
  assert.ok(text.endsWith("\n"), `${path} ends in a partial line`);
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line, i) => {
      try {
        return JSON.parse(line) as T;
      } catch {
        return assert.fail(`${path}:${i + 1} does not parse: ${line.slice(0, 120)}`);
      }
    });
}

/** The agent of fixtures/load.yaml: its records are under <storage>/loadtest/sessions/. */
const AGENT = "loadtest";

/**
 * The execution records on disk, read by their final names only. serve
 * writes each record to a temp file (`.exec_….json.<pid>.<n>.tmp`) and
 * renames it into place, so a walk that lists every file and then stats it
 * fails now and then on a temp file renamed away in between; a record's own
 * name is only ever replaced, never removed.
 */
function recordsIn(storage: string): DiskRecord[] {
  const sessions = join(storage, AGENT, "sessions");
  if (!existsSync(sessions)) return [];
  const records: DiskRecord[] = [];
  for (const session of readdirSync(sessions)) {
    if (session.startsWith(".")) continue;
    for (const name of readdirSync(join(sessions, session))) {
      if (/^exec_.+\.json$/.test(name)) records.push(JSON.parse(readFileSync(join(sessions, session, name), "utf8")) as DiskRecord);
    }
  }
  return records;
}

/** Executions on disk that a delivery started. */
function executionsOf(storage: string, deliveryId: string): DiskRecord[] {
  return recordsIn(storage).filter((r) => r.input?.event?.data?.delivery_id === deliveryId);
}

/**
 * Waits for the executions a 202 says it started (by id) to end, whatever
 * their status, then requires them completed. One that failed says why at
 * once (its record's error) instead of the wait running out on a status that
 * can no longer change; a wait that does run out says what is on disk and
 * whether serve is still up.
 */
async function finished(serve: ServeProcess, deliveryId: string, accepted: DeliveryResponse): Promise<DiskRecord[]> {
  const ids = accepted.body.executions ?? [];
  assert.ok(ids.length > 0, `the 202 names the executions it started: ${JSON.stringify(accepted.body)}`);
  const what = `the execution of ${deliveryId} (${ids.join(", ")})`;
  let seen: DiskRecord[] = [];
  let ended: DiskRecord[];
  try {
    ended = await waitFor(`${what} to end`, () => {
      seen = recordsIn(serve.storage).filter((r) => ids.includes(r.execution_id));
      return seen.length === ids.length && seen.every((r) => isTerminal(r.status as ExecutionStatus)) ? seen : undefined;
    });
  } catch (err) {
    const state = serve.child.exitCode !== null || serve.child.signalCode !== null ? `exited (${serve.child.exitCode ?? serve.child.signalCode})` : "running";
    const logTail = serve.stderr().trimEnd().split("\n").slice(-5).join("\n");
    throw new Error(`${(err as Error).message}; on disk: ${JSON.stringify(seen.map((r) => r.status))}; serve ${state}; its last log lines:\n${logTail}`, { cause: err });
  }
  for (const r of ended) assert.equal(r.status, "completed", `${what} ended ${r.status}: ${JSON.stringify(r.error)}`);
  return ended;
}

describe("torn append logs under forager serve", () => {
  test("a full disk: the burst gets 500s, the next delivery after space comes back is whole, and its redelivery after a restart is a duplicate", async () => {
    const dir = await tempDir("forager-rel-full-");
    dirs.push(dir);
    const storage = join(dir.path, "storage");
    const control = join(dir.path, "disk-full");
    const first = await serveOn(storage, { NODE_OPTIONS: `--import=${DISK_FULL}`, FORAGER_TEST_DISK_FULL: control });
    const webhook = first.info.webhook_url!;

    const warm = await deliver(webhook, "warm-1", { sleep_ms: 0 });
    assert.equal(warm.status, 202, JSON.stringify(warm.body));
    await finished(first, "warm-1", warm);

    // The whole disk is full: the events and the queued records fail half-written.
    await writeFile(control, "");
    const burst = await Promise.all(Array.from({ length: 8 }, (_, i) => deliver(webhook, `burst-${i}`, { sleep_ms: 0 })));
    assert.deepEqual(burst.map((r) => r.status), Array(8).fill(500), JSON.stringify(burst.map((r) => r.body)));
    // Only the ingest log's folder is full: the records are written, the event fails half-written.
    // One delivery, so the failed append is one line and its half cannot end on a line break.
    await writeFile(control, "_events");
    const second = await deliver(webhook, "burst-b0", { sleep_ms: 0 });
    assert.equal(second.status, 500, JSON.stringify(second.body));
    assert.ok(!readFileSync(ingestLog(storage), "utf8").endsWith("\n"), "the failed append left a partial line");

    // Space comes back.
    await rm(control);
    const accepted = await deliver(webhook, "after-full", { sleep_ms: 0 });
    assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
    const events = wholeLines<{ data?: { delivery_id?: string } }>(ingestLog(storage));
    assert.equal(events.filter((e) => e.data?.delivery_id === "after-full").length, 1, "the accepted event's line is readable");
    const keys = wholeLines(keyLog(storage));
    assert.ok(keys.some((k) => k.k === "github:after-full" && k.v === accepted.body.event_id), "its de-duplication key is readable");
    await finished(first, "after-full", accepted);

    await stop(first, "SIGTERM");
    const restarted = await serveOn(storage);
    const again = await deliver(restarted.info.webhook_url!, "after-full", { sleep_ms: 0 });
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.equal(again.body.status, "duplicate");
    assert.equal(again.body.event_id, accepted.body.event_id);
    // A delivery that got a 500 was never taken: its retry is accepted now.
    const retried = await deliver(restarted.info.webhook_url!, "burst-b0", { sleep_ms: 0 });
    assert.equal(retried.status, 202, JSON.stringify(retried.body));
    await finished(restarted, "burst-b0", retried);
    assert.equal(executionsOf(storage, "after-full").length, 1, "the accepted delivery ran once");
    await stop(restarted, "SIGTERM");
  });

  test("kill -9 in mid-append: the torn tails are set aside at restart, new deliveries parse, and their redeliveries are duplicates", async () => {
    const dir = await tempDir("forager-rel-torn-");
    dirs.push(dir);
    const storage = join(dir.path, "storage");
    const first = await serveOn(storage);
    const before = new Map<string, DeliveryResponse>();
    for (const id of ["k1", "k2", "k3"]) {
      const res = await deliver(first.info.webhook_url!, id, { sleep_ms: 0 });
      assert.equal(res.status, 202, JSON.stringify(res.body));
      before.set(id, res);
    }
    await finished(first, "k3", before.get("k3")!);
    await stop(first, "SIGKILL");
    // What a kill -9 in mid-append leaves: the last 40 bytes never made it.
    const log = ingestLog(storage);
    for (const path of [log, keyLog(storage)]) truncateSync(path, statSync(path).size - 40);
    // And an atomic write's temp file that never got renamed.
    const temp = join(storage, "loadtest", `.state.json.${first.child.pid}.1.tmp`);
    writeFileSync(temp, "{half");

    const second = await serveOn(storage);
    assert.ok(!existsSync(temp), "the leftover temp file is removed at start");
    const accepted = new Map<string, DeliveryResponse>();
    const ids: Record<string, string> = {};
    for (const id of ["n1", "n2"]) {
      const res = await deliver(second.info.webhook_url!, id, { sleep_ms: 0 });
      assert.equal(res.status, 202, JSON.stringify(res.body));
      accepted.set(id, res);
      ids[id] = res.body.event_id!;
    }
    const events = wholeLines<{ data?: { delivery_id?: string } }>(log);
    for (const id of ["n1", "n2"]) assert.equal(events.filter((e) => e.data?.delivery_id === id).length, 1, `${id}'s event line parses`);
    assert.ok(existsSync(`${log}.torn`), "the torn tail is kept aside");
    const keys = wholeLines(keyLog(storage));
    for (const id of ["n1", "n2"]) assert.ok(keys.some((k) => k.k === `github:${id}`), `${id}'s key parses`);
    for (const id of ["n1", "n2"]) await finished(second, id, accepted.get(id)!);

    await stop(second, "SIGKILL");
    const third = await serveOn(storage);
    for (const id of ["n1", "n2"]) {
      const res = await deliver(third.info.webhook_url!, id, { sleep_ms: 0 });
      assert.equal(res.status, 200, `${id}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.event_id, ids[id]);
    }
    for (const id of ["n1", "n2"]) assert.equal(executionsOf(storage, id).length, 1, `${id} ran once`);
    await stop(third, "SIGTERM");
  });
});
