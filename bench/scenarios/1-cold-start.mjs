/**
 * Cold start: whole-process wall time and peak RSS of `forager --help`,
 * `forager validate agents/issue-triage.yaml`, `forager run
 * agents/disk-report.yaml` (the no-LLM example) and a process that only
 * imports the library (`import "forager"`, dist/index.js), each against
 * `node -e 0`. Rounds interleave the commands so machine noise hits all of
 * them alike. The run target depends on the Node version: Node 20 has no
 * compile cache (`module.enableCompileCache`, Node 22.1+).
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";
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
    library: [process.execPath, ["--input-type=module", "-e", `import ${JSON.stringify(pathToFileURL(join(ROOT, "dist", "index.js")).href)};`]],
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
  const major = Number(process.versions.node.split(".")[0]);
  const under = (x) => ({ text: `< ${x}x node -e 0`, check: ({ ratio }) => ratio < x });
  const targets = {
    help: under(2),
    validate: major >= 22 ? under(3) : undefined,
    run: under(major >= 22 ? 3 : 4),
    library: under(3),
  };
  const labels = {
    help: "forager --help",
    validate: "forager validate issue-triage.yaml",
    run: "forager run disk-report.yaml (no LLM)",
    library: 'import "forager" (dist/index.js)',
  };
  for (const key of ["help", "validate", "run", "library"]) {
    ctx.compare({ name: `${labels[key]}: wall time`, unit: "ms", forager: wall[key], baseline: wall.baseline, baselineName, target: targets[key] });
  }
  if (HAS_GNU_TIME) {
    for (const key of ["help", "validate", "run", "library"]) {
      ctx.compare({ name: `${labels[key]}: peak RSS`, unit: "MB", forager: peak[key], baseline: peak.baseline, baselineName });
    }
  } else {
    ctx.note("GNU time (/usr/bin/time) is not installed: peak RSS of whole processes was not measured, wall time only.");
  }
});
