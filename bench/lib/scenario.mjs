/**
 * What every scenario script runs inside: options from the harness
 * (quick mode, temp roots), tracked child processes and cleanup steps that
 * run even on error, and the result file the harness reads.
 *
 * A scenario is a plain script: `runScenario("name", async (ctx) => { ... })`.
 * It may also be run alone: `node bench/scenarios/3-runtime.mjs --quick`.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { summarize, round } from "./stats.mjs";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const BIN = join(ROOT, "bin", "forager.js");

/** Imports a module of the built library; a missing file is a loud failure naming what to build. */
export async function importDist(relative) {
  const file = join(ROOT, "dist", relative);
  if (!existsSync(file)) {
    throw new Error(`dist/${relative} is missing: the piece this scenario measures is not built (run \`npm run build\`)`);
  }
  return import(pathToFileURL(file).href);
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

class ScenarioContext {
  constructor(name) {
    this.name = name;
    this.quick = process.env.BENCH_QUICK === "1" || process.argv.includes("--quick");
    this.metrics = [];
    this.notes = [];
    this.cleanups = [];
    this.children = new Set();
  }

  log(message) {
    process.stderr.write(`  [${this.name}] ${message}\n`);
  }

  /** Adds a cleanup step; steps run last-in first-out, every one even if another fails. */
  defer(fn) {
    this.cleanups.push(fn);
  }

  /**
   * A temp dir on a normal disk (`disk`) or on tmpfs (`tmpfs`, /dev/shm),
   * under the harness's root for this scenario when there is one (the
   * harness removes that root even if this process is killed).
   */
  async tempDir(kind = "disk") {
    const base = kind === "tmpfs" ? (process.env.BENCH_TMP_TMPFS ?? tmpfsRoot()) : (process.env.BENCH_TMP_DISK ?? tmpdir());
    if (!base) throw new Error("no tmpfs (/dev/shm) on this machine");
    const dir = await mkdtemp(join(base, "forager-bench-"));
    this.defer(() => rm(dir, { recursive: true, force: true }));
    return dir;
  }

  /** Spawns a process that is killed (SIGTERM, then SIGKILL) at cleanup if still running. */
  spawn(command, args, options = {}) {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], ...options });
    this.children.add(child);
    child.exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
    child.exited.then(() => this.children.delete(child));
    child.stderrText = "";
    child.stderr?.on("data", (d) => {
      // Keep only the tail: enough for an error message, bounded for long runs.
      child.stderrText = (child.stderrText + d.toString()).slice(-8000);
    });
    return child;
  }

  async killChild(child, graceMs = 5000) {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const done = await Promise.race([child.exited.then(() => true), sleep(graceMs).then(() => false)]);
    if (!done) {
      child.kill("SIGKILL");
      await child.exited;
    }
  }

  /**
   * Records one metric: forager's per-round values against the baseline's.
   * `ratio` is forager's median over the baseline's median (for times: how
   * many times slower; for rates: what fraction of the baseline).
   */
  compare({ name, unit, better = "lower", forager, baseline, baselineName, target, note, noRatio = false }) {
    const f = summarize(forager);
    const b = baseline ? summarize(baseline) : null;
    const ratio = b && !noRatio && b.median !== 0 ? round(f.median / b.median) : null;
    const metric = { name, unit, better, forager: f, baseline: b, baseline_name: baselineName ?? null, ratio };
    if (target) {
      const met = target.check({ forager: f.median, baseline: b?.median, ratio });
      metric.target = { text: target.text, met: Boolean(met) };
    }
    if (note) metric.note = note;
    this.metrics.push(metric);
    return metric;
  }

  note(text) {
    this.notes.push(text);
  }

  /** Marks the scenario as not run here (a missing tool, said in a note): no metrics, and no failure. */
  skip() {
    this.skipped = true;
  }

  async cleanup() {
    for (const child of [...this.children]) {
      await this.killChild(child).catch(() => undefined);
    }
    while (this.cleanups.length > 0) {
      const fn = this.cleanups.pop();
      try {
        await fn();
      } catch (err) {
        process.stderr.write(`  [${this.name}] cleanup step failed: ${err?.message ?? err}\n`);
      }
    }
  }
}

function tmpfsRoot() {
  return existsSync("/dev/shm") ? "/dev/shm" : null;
}

/** Runs one scenario: result JSON to $BENCH_RESULT_FILE (or stdout), exit 1 on any error. */
export async function runScenario(name, body) {
  const ctx = new ScenarioContext(name);
  const started = performance.now();
  let failure;
  const onSignal = (signal) => {
    // The harness gave up on this scenario: clean up, then go.
    void ctx.cleanup().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  };
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);
  try {
    await body(ctx);
    if (ctx.metrics.length === 0 && !ctx.skipped) throw new Error("the scenario measured nothing");
  } catch (err) {
    failure = err;
  } finally {
    await ctx.cleanup();
  }
  const result = {
    scenario: name,
    quick: ctx.quick,
    duration_s: round((performance.now() - started) / 1000, 1),
    metrics: ctx.metrics,
    notes: ctx.notes,
    ...(failure ? { error: failure?.stack ?? String(failure) } : {}),
  };
  const text = JSON.stringify(result, null, 2);
  if (process.env.BENCH_RESULT_FILE) await writeFile(process.env.BENCH_RESULT_FILE, text);
  else process.stdout.write(text + "\n");
  if (failure) process.stderr.write(`  [${name}] FAILED: ${failure?.stack ?? failure}\n`);
  process.exitCode = failure ? 1 : 0;
  // Handles a library left open must not keep a finished scenario alive.
  setTimeout(() => process.exit(process.exitCode), 200).unref();
}
