/**
 * `/health` tells the truth (SPEC 6): 200 with its checks when all is well;
 * 503 naming the failing check when storage is read-only or full (a real
 * write probe), when shared state cannot be read, and while draining; and
 * back to 200 when the cause is gone.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../helpers/cli.js";
import { startServe, stopHard, type ServeProcess } from "./helpers.js";
import { waitFor } from "../helpers/wait.js";
import type { HealthBody } from "../helpers/api-types.js";

describe("/health reports its checks", () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let serve: ServeProcess | undefined;
  let mount: string;
  let mounted = false;
  before(async () => {
    dir = await tempDir("forager-rel-health-");
    mount = join(dir.path, "storage");
    mkdirSync(mount);
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mount], { stdio: "ignore" });
      mounted = true;
    } catch {
      // checked in the test
    }
    serve = await startServe(mount, { env: { TICK_SECONDS: "3600", LOG_LEVEL: "warn" } });
  });
  after(async () => {
    await stopHard(serve);
    if (mounted) execFileSync("umount", ["-l", mount], { stdio: "ignore" });
    await dir.cleanup();
  });

  const health = async () => {
    const res = await fetch(`${serve!.info.url}/health`, { signal: AbortSignal.timeout(5_000) });
    return { status: res.status, body: (await res.json()) as HealthBody };
  };
  /** Polls until /health answers `status` (the probe result is cached for 2 s). */
  const healthIs = (status: number, what: string) => waitFor(what, async () => ((await health()).status === status ? health() : undefined), { timeoutMs: 15_000, stepMs: 100 });

  test("storage read-only or full, state unreadable: 503 naming the check; 200 again after", async (t) => {
    const ok = await health();
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body, { status: "ok", checks: { draining: "ok", storage: "ok", state: "ok" } });

    // Shared state that does not parse.
    const statePath = join(mount, "loadtest", "state.json");
    mkdirSync(join(mount, "loadtest"), { recursive: true });
    writeFileSync(statePath, '{"half": ');
    const badState = await healthIs(503, "503 for unreadable state");
    assert.deepEqual(badState.body.failing, ["state"]);
    assert.match(badState.body.checks.state ?? "", /state\.json is not valid JSON/);
    rmSync(statePath);
    await healthIs(200, "200 once the state file is gone");

    if (!mounted) {
      t.skip("cannot mount a tmpfs here (needs root): read-only and full storage not checked");
      return;
    }
    execFileSync("mount", ["-o", "remount,ro", mount]);
    try {
      const ro = await healthIs(503, "503 for read-only storage");
      assert.deepEqual(ro.body.failing, ["storage"]);
      assert.match(ro.body.checks.storage ?? "", /cannot be written \(EROFS\)/);
    } finally {
      execFileSync("mount", ["-o", "remount,rw", mount]);
    }
    await healthIs(200, "200 once storage is writable again");

    // Fill the disk to the last byte.
    const filler = join(mount, "filler");
    try {
      execFileSync("dd", ["if=/dev/zero", `of=${filler}`, "bs=4k"], { stdio: "ignore" });
    } catch {
      // dd stops with "no space left": that is the point
    }
    try {
      const full = await healthIs(503, "503 for full storage");
      assert.deepEqual(full.body.failing, ["storage"]);
      assert.match(full.body.checks.storage ?? "", /ENOSPC/);
    } finally {
      rmSync(filler, { force: true });
    }
    await healthIs(200, "200 once space is back");
  });

  test("503 naming draining after SIGTERM", async () => {
    // A long execution keeps serve draining long enough to look.
    const trigger = await serve!.control("/entry-points/api/trigger", { method: "POST", body: JSON.stringify({ input: { sleep_ms: 4_000 } }) });
    assert.equal(trigger.status, 202);
    serve!.kill("SIGTERM");
    const draining = await waitFor("503 while draining", async () => {
      const h = await health().catch(() => undefined);
      return h?.status === 503 ? h : undefined;
    }, { timeoutMs: 10_000, stepMs: 50 });
    assert.equal(draining.body.status, "draining");
    assert.deepEqual(draining.body.failing, ["draining"]);
  });
});
