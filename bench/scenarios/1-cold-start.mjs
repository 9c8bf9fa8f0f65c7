/**
 * Cold start: whole-process wall time and peak RSS of `forager --help`,
 * `forager validate agents/issue-triage.yaml` and `forager run
 * agents/disk-report.yaml` (the no-LLM example), each against `node -e 0`.
 * Rounds interleave the commands so machine noise hits all of them alike.
 */
import { join } from "node:path";
import { HAS_GNU_TIME, timeCommand } from "../lib/proc.mjs";
import { BIN, ROOT, runScenario } from "../lib/scenario.mjs";

await runScenario("cold-start", async (ctx) => {
  const rounds = ctx.quick ? 3 : 20;
  const storage = await ctx.tempDir("disk");
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: "1", GITHUB_WEBHOOK_SECRET: "bench-secret" };
  const commands = {
    baseline: [process.execPath, ["-e", "0"]],
    help: [process.execPath, [BIN, "--help"]],
    validate: [process.execPath, [BIN, "validate", join(ROOT, "agents", "issue-triage.yaml")]],
    run: [process.execPath, [BIN, "run", join(ROOT, "agents", "disk-report.yaml"), "--json", "--storage", storage]],
  };
  const wall = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
  const peak = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));

  // One unmeasured pass warms the page cache, as a user's second call would be.
  for (const [command, args] of Object.values(commands)) timeCommand(command, args, { env });
  for (let round = 0; round < rounds; round++) {
    for (const [key, [command, args]] of Object.entries(commands)) {
      const { wallMs, peakMb, stdout } = timeCommand(command, args, { env });
      if (key === "run" && JSON.parse(stdout).status !== "completed") throw new Error(`forager run did not complete: ${stdout}`);
      wall[key].push(wallMs);
      if (peakMb !== null) peak[key].push(peakMb);
    }
  }
  ctx.log(`${rounds} rounds of each command`);

  const baselineName = "node -e 0";
  const targets = {
    help: { text: "< 2x node -e 0", check: ({ ratio }) => ratio < 2 },
    run: { text: "< 3x node -e 0", check: ({ ratio }) => ratio < 3 },
  };
  const labels = { help: "forager --help", validate: "forager validate issue-triage.yaml", run: "forager run disk-report.yaml (no LLM)" };
  for (const key of ["help", "validate", "run"]) {
    ctx.compare({ name: `${labels[key]}: wall time`, unit: "ms", forager: wall[key], baseline: wall.baseline, baselineName, target: targets[key] });
  }
  if (HAS_GNU_TIME) {
    for (const key of ["help", "validate", "run"]) {
      ctx.compare({ name: `${labels[key]}: peak RSS`, unit: "MB", forager: peak[key], baseline: peak.baseline, baselineName });
    }
  } else {
    ctx.note("GNU time (/usr/bin/time) is not installed: peak RSS of whole processes was not measured, wall time only.");
  }
});
