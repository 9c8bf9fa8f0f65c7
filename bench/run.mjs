#!/usr/bin/env node
/**
 * forager's benchmark suite: `npm run bench` (full, under 10 minutes on two
 * cores) or `npm run bench -- --quick` (under a minute, what CI runs).
 *
 * Each scenario is its own Node process (bench/scenarios/*.mjs) in its own
 * process group, under a time limit, with temp roots this harness creates
 * and always removes. It prints a table of medians and spreads, forager
 * against its baseline, and writes bench/results/latest.json. Targets are
 * reported, never asserted: the exit code is non-zero only when a scenario
 * could not run (a missing piece fails loudly, it is never skipped; the one
 * exception is the cluster scenario without redis-server, skipped with a note).
 *
 *   node bench/run.mjs [--quick] [--only cold-start,webhooks] [--out FILE]
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { formatTable } from "./lib/table.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/**
 * Scenarios in order; `limit_s` bounds each one (full, quick), after which
 * its process group is killed. The limits are several times what this
 * machine needs: a slow CI runner reports slow numbers, it does not fail.
 * On a machine shared with other heavy work, BENCH_LIMIT_SCALE (a number,
 * default 1) multiplies every limit.
 */
const SCENARIOS = [
  { name: "cold-start", file: "1-cold-start.mjs", limit_s: [120, 120] },
  { name: "executor", file: "2-executor.mjs", limit_s: [120, 120] },
  { name: "runtime", file: "3-runtime.mjs", limit_s: [120, 120] },
  { name: "webhooks", file: "4-webhooks.mjs", limit_s: [120, 120] },
  { name: "timers", file: "5-timers.mjs", limit_s: [120, 120] },
  { name: "memory", file: "6-memory.mjs", limit_s: [300, 120], nodeArgs: ["--expose-gc"] },
  { name: "history", file: "7-history.mjs", limit_s: [180, 120] },
  { name: "llm-turn", file: "8-llm-turn.mjs", limit_s: [120, 120] },
  // Full runs only: several serve processes on a redis-server, about a minute.
  { name: "cluster", file: "9-cluster.mjs", limit_s: [300, 300], fullOnly: true },
];

function parseArgs(argv) {
  const args = { quick: false, only: null, out: join(ROOT, "bench", "results", "latest.json") };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--quick") args.quick = true;
    else if (arg === "--only") args.only = argv[++i]?.split(",").map((s) => s.trim());
    else if (arg.startsWith("--only=")) args.only = arg.slice(7).split(",").map((s) => s.trim());
    else if (arg === "--out") args.out = argv[++i];
    else if (arg === "--help" || arg === "-h") {
      process.stdout.write("usage: node bench/run.mjs [--quick] [--only NAME,...] [--out FILE]\nscenarios: " + SCENARIOS.map((s) => s.name).join(", ") + "\n");
      process.exit(0);
    } else {
      process.stderr.write(`bench: unknown argument "${arg}"\n`);
      process.exit(2);
    }
  }
  if (args.only) {
    const unknown = args.only.filter((name) => !SCENARIOS.some((s) => s.name === name));
    if (unknown.length > 0) {
      process.stderr.write(`bench: unknown scenario ${unknown.join(", ")} (known: ${SCENARIOS.map((s) => s.name).join(", ")})\n`);
      process.exit(2);
    }
  }
  return args;
}

/** The built library must exist; a stale build is measured but said out loud. */
async function checkBuild() {
  const entry = join(ROOT, "dist", "cli", "main.js");
  if (!existsSync(entry)) {
    throw new Error("dist/ is missing: run `npm run build` (npx tsc -p .) before `npm run bench`");
  }
  const built = statSync(entry).mtimeMs;
  let newest = 0;
  let newestFile = "";
  async function walk(dir) {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.name.endsWith(".ts")) {
        const mtime = statSync(path).mtimeMs;
        if (mtime > newest) [newest, newestFile] = [mtime, path];
      }
    }
  }
  await walk(join(ROOT, "src"));
  if (newest > built + 1000) return `dist/ is older than ${relative(ROOT, newestFile)}: numbers are for the last build (run \`npm run build\`)`;
  return null;
}

function machine() {
  const cpus = os.cpus();
  return {
    cores: os.availableParallelism?.() ?? cpus.length,
    cpu_model: cpus[0]?.model ?? "unknown",
    memory_gb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    load_average_at_start: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

const running = new Set();
/** Set by SIGINT/SIGTERM: no further scenario starts. */
let stopping = false;

function killGroup(child) {
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    // the group is gone already
  }
}

function limitScale() {
  const scale = Number(process.env.BENCH_LIMIT_SCALE ?? 1);
  if (!Number.isFinite(scale) || scale <= 0) throw new Error(`BENCH_LIMIT_SCALE must be a positive number, got ${process.env.BENCH_LIMIT_SCALE}`);
  return scale;
}

async function runOne(scenario, args, roots) {
  const resultFile = join(roots.disk, `${scenario.name}.result.json`);
  const limitS = scenario.limit_s[args.quick ? 1 : 0] * limitScale();
  const started = performance.now();
  process.stderr.write(`\n▶ ${scenario.name} (limit ${limitS} s)\n`);
  // Its own process group: on timeout the scenario and every process it started go at once.
  const child = spawn(process.execPath, [...(scenario.nodeArgs ?? []), join(ROOT, "bench", "scenarios", scenario.file)], {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", "inherit", "inherit"],
    env: {
      ...process.env,
      BENCH_QUICK: args.quick ? "1" : "0",
      BENCH_RESULT_FILE: resultFile,
      BENCH_TMP_DISK: roots.disk,
      ...(roots.tmpfs ? { BENCH_TMP_TMPFS: roots.tmpfs } : {}),
    },
  });
  running.add(child);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    // A polite SIGTERM lets the scenario clean up; the group kill follows regardless.
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {}
    setTimeout(() => killGroup(child), 3000).unref();
  }, limitS * 1000);
  const code = await new Promise((resolve) => child.once("exit", (c, s) => resolve(c ?? s)));
  clearTimeout(timer);
  killGroup(child); // anything it left behind
  running.delete(child);
  const duration_s = Math.round((performance.now() - started) / 100) / 10;
  let result;
  try {
    result = JSON.parse(await readFile(resultFile, "utf8"));
  } catch {
    result = { scenario: scenario.name, metrics: [], notes: [] };
  }
  if (timedOut) result.error = `did not finish within ${limitS} s and was killed`;
  else if (code !== 0 && !result.error) result.error = `exited with ${code} without a result`;
  result.duration_s = duration_s;
  process.stderr.write(`${result.error ? "✗" : "✓"} ${scenario.name} ${duration_s} s${result.error ? `: ${result.error.split("\n")[0]}` : ""}\n`);
  return result;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const warning = await checkBuild();
  if (warning) process.stderr.write(`bench: warning: ${warning}\n`);
  const started = performance.now();
  const roots = {
    disk: await mkdtemp(join(os.tmpdir(), "forager-bench-")),
    tmpfs: existsSync("/dev/shm") ? await mkdtemp(join("/dev/shm", "forager-bench-")) : null,
  };
  const cleanup = async () => {
    for (const child of running) killGroup(child);
    await rm(roots.disk, { recursive: true, force: true });
    if (roots.tmpfs) await rm(roots.tmpfs, { recursive: true, force: true });
  };
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.once(signal, () => {
      stopping = true;
      process.stderr.write(`\nbench: ${signal}: stopping\n`);
      void cleanup().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
    });
  }
  const results = [];
  try {
    for (const scenario of SCENARIOS) {
      if (stopping) break;
      if (args.only && !args.only.includes(scenario.name)) continue;
      if (scenario.fullOnly && args.quick) continue;
      results.push(await runOne(scenario, args, roots));
    }
  } finally {
    await cleanup();
  }
  const report = {
    mode: args.quick ? "quick" : "full",
    finished_at: new Date().toISOString(),
    duration_s: Math.round((performance.now() - started) / 100) / 10,
    machine: machine(),
    git_commit: gitCommit(),
    ...(warning ? { warning } : {}),
    scenarios: results,
  };
  await mkdir(join(args.out, ".."), { recursive: true });
  await writeFile(args.out, JSON.stringify(report, null, 2) + "\n");
  process.stdout.write("\n" + formatTable(report) + "\n");
  process.stdout.write(`\nresults: ${relative(process.cwd(), args.out)}  (${report.mode}, ${report.duration_s} s)\n`);
  const failed = results.filter((r) => r.error);
  if (failed.length > 0) {
    process.stderr.write(`\nbench: ${failed.length} scenario(s) failed: ${failed.map((r) => r.scenario).join(", ")}\n`);
    for (const r of failed) process.stderr.write(`\n--- ${r.scenario} ---\n${r.error}\n`);
    process.exitCode = 1;
  }
}

function gitCommit() {
  try {
    const head = readFileSync(join(ROOT, ".git", "HEAD"), "utf8").trim();
    if (!head.startsWith("ref: ")) return head;
    const ref = head.slice(5);
    const loose = join(ROOT, ".git", ref);
    if (existsSync(loose)) return readFileSync(loose, "utf8").trim();
    const packed = readFileSync(join(ROOT, ".git", "packed-refs"), "utf8");
    return packed.split("\n").find((l) => l.endsWith(` ${ref}`))?.split(" ")[0] ?? null;
  } catch {
    return null;
  }
}

main().catch((err) => {
  process.stderr.write(`bench: ${err?.message ?? err}\n`);
  process.exit(1);
});
