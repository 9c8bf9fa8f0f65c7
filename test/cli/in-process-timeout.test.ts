// A command run in the test's process (test/helpers/cli.ts) that does not
// finish within its timeout is interrupted as Ctrl-C would interrupt it, so
// it cannot run on, holding files, ports and child processes, after the
// test has failed.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { processesMatching, repoRoot, runCli, tempDir } from "../helpers/cli.js";
import { waitFor } from "../helpers/wait.js";

let dir: { path: string; cleanup: () => Promise<void> };
before(async () => {
  dir = await tempDir("forager-cli-timeout-");
});
after(async () => {
  await dir.cleanup();
});

test("a command past runCli's timeout is interrupted: its execution ends cancelled and its tool process is gone", async () => {
  const storage = join(dir.path, "storage");
  // A sleep nobody else runs, so the process check below sees only this one.
  const seconds = "41.375";
  // The timeout must come after the execution has started (its record is what is checked):
  // a run reaches its tool in well under a second, so 5 s leaves room for a loaded machine.
  await assert.rejects(
    runCli(["run", join(repoRoot, "test/fixtures/run/sleeper.yaml"), "--input", `{"seconds": ${seconds}}`, "--storage", storage], { timeoutMs: 5000 }),
    /did not finish in 5000 ms/,
  );
  const sessions = await waitFor("the interrupted execution's record", async () => {
    const listed = await runCli(["sessions", "list", "--json", "--storage", storage]);
    const parsed = JSON.parse(listed.stdout) as Array<{ status: string }>;
    return parsed.length > 0 && parsed.every((s) => s.status !== "running") ? parsed : undefined;
  });
  assert.deepEqual(sessions.map((s) => s.status), ["cancelled"]);
  await waitFor("the tool's sleep to end", () => processesMatching(`sleep ${seconds}`).length === 0);
});
