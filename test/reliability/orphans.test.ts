/**
 * Orphans: a shell tool's program runs in its own process group, so it
 * outlives a kill -9 of `serve`. Its group is recorded in the session while
 * it runs and the next start kills what is left of it (still ours: same
 * start time). SIGHUP to `run` cancels like SIGTERM: exit 129, session
 * cancelled, no tool process left.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { binPath, repoRoot } from "../helpers/cli.js";
import { FIXTURES, serveEnv, sleep, startServe, stopHard, walkFiles, type ServeProcess } from "./helpers.js";

const AGENT = join(FIXTURES, "shell-long.yaml");

interface Group {
  pid: number;
  pgid: number;
  start_time: string;
}

/** Field 22 of /proc/<pid>/stat, or undefined when the process is gone or a zombie (killed, not yet reaped by init). */
function liveStartTime(pid: number): string | undefined {
  try {
    const rest = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ").at(-1)!.split(" ");
    return rest[0] === "Z" ? undefined : rest[19];
  } catch {
    return undefined;
  }
}

function isRunning(group: Group): boolean {
  return liveStartTime(group.pid) === group.start_time;
}

/** Waits (bounded) for the one process-<pid>.json a running shell tool leaves in its session folder. */
async function recordedGroup(storage: string, exited?: () => boolean): Promise<Group> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const file = walkFiles(storage).find((path) => /^process-\d+\.json$/.test(basename(path)));
    if (file) {
      try {
        return JSON.parse(readFileSync(file, "utf8")) as Group;
      } catch {
        // renamed into place a moment ago: read again
      }
    }
    if (exited?.()) throw new Error("the process exited before its tool started");
    await sleep(25);
  }
  throw new Error("no process group was recorded within 30 s");
}

async function waitGone(group: Group): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && isRunning(group)) await sleep(50);
}

const groups: Group[] = [];
const serves: ServeProcess[] = [];
const children: ChildProcess[] = [];
const dirs: string[] = [];

after(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  for (const serve of serves) await stopHard(serve);
  for (const group of groups) {
    if (!isRunning(group)) continue;
    try {
      process.kill(-group.pgid, "SIGKILL");
    } catch {
      // gone meanwhile
    }
  }
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function tempStorage(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "forager-orphans-"));
  dirs.push(dir);
  return dir;
}

describe("orphaned tool processes", { skip: process.platform !== "linux" && "needs /proc" }, () => {
  test("kill -9 of serve leaves the shell tool running; the next serve kills its process group", async () => {
    const storage = await tempStorage();
    const first = await startServe(storage, { files: [AGENT] });
    serves.push(first);
    const res = await first.control("/entry-points/api/trigger", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    assert.equal(res.status, 202, await res.text());
    const group = await recordedGroup(storage);
    groups.push(group);
    assert.equal(group.pgid, group.pid, "the tool leads its own process group");
    assert.deepEqual(readFileSync(`/proc/${group.pid}/cmdline`, "utf8").split("\0").slice(0, 2), ["sleep", "300"]);

    first.kill("SIGKILL");
    await first.exited;
    assert.ok(isRunning(group), "the tool's program outlives a kill -9 of serve (own process group)");

    const second = await startServe(storage, { files: [AGENT] });
    serves.push(second);
    await waitGone(group);
    assert.ok(!isRunning(group), "the restarted serve killed the orphaned process group");
    assert.match(second.stderr(), new RegExp(`killed process group ${group.pgid} left running`));
    assert.equal(walkFiles(storage).filter((path) => /^process-\d+\.json$/.test(basename(path))).length, 0, "the record is removed");
  });

  test("SIGHUP to run exits 129, records the session cancelled and leaves no tool process", async () => {
    const storage = await tempStorage();
    const child = spawn(process.execPath, [binPath, "run", AGENT, "--storage", storage], { cwd: repoRoot, env: serveEnv(), stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdout!.resume();
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    const group = await recordedGroup(storage, () => child.exitCode !== null);
    groups.push(group);
    assert.ok(isRunning(group));

    child.kill("SIGHUP");
    assert.equal(await exited, 129, stderr);
    await waitGone(group);
    assert.ok(!isRunning(group), "no tool process is left behind");

    const list = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, [binPath, "sessions", "list", "--json", "--storage", storage], { cwd: repoRoot, env: serveEnv(), timeout: 30_000 }, (err, stdout) =>
        err ? reject(err) : resolve(stdout),
      ),
    );
    const sessions = JSON.parse(list) as Array<{ status: string }>;
    assert.deepEqual(
      sessions.map((s) => s.status),
      ["cancelled"],
    );
  });
});
