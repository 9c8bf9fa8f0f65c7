/**
 * Process helpers: whole-process wall time and peak RSS of a command,
 * RSS of a running process, `forager serve` and helper servers as tracked
 * children.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN, ROOT, sleep } from "./scenario.mjs";

const GNU_TIME = "/usr/bin/time";

/** True when GNU time can report peak RSS (`-f %M`). */
export const HAS_GNU_TIME = (() => {
  if (!existsSync(GNU_TIME)) return false;
  const probe = spawnSync(GNU_TIME, ["-f", "%M", process.execPath, "-e", "0"], { encoding: "utf8" });
  return probe.status === 0 && /^\d+$/.test(probe.stderr.trim().split("\n").pop() ?? "");
})();

/**
 * Runs a command to completion: wall time in ms (measured here, around the
 * whole process) and peak RSS in MB (from GNU time; null without it). A
 * non-zero exit is an error: a benchmark of a failing command is no benchmark.
 */
export function timeCommand(command, args, options = {}) {
  const out = join(tmpdir(), `forager-bench-time-${process.pid}.txt`);
  const [file, argv] = HAS_GNU_TIME ? [GNU_TIME, ["-f", "%M", "-o", out, command, ...args]] : [command, args];
  const started = performance.now();
  const result = spawnSync(file, argv, {
    cwd: options.cwd ?? ROOT,
    env: options.env ?? process.env,
    encoding: "utf8",
    timeout: 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  const wallMs = performance.now() - started;
  let peakMb = null;
  if (HAS_GNU_TIME) {
    try {
      const kb = Number(readFileSync(out, "utf8").trim().split("\n").pop());
      if (Number.isFinite(kb) && kb > 0) peakMb = kb / 1024;
    } catch {
      // no output file: the command did not run; the status check below says why
    } finally {
      rmSync(out, { force: true });
    }
  }
  if (result.error) throw new Error(`${command} ${args.join(" ")}: ${result.error.message}`);
  if (result.status !== 0) {
    const detail = (result.stderr || result.stdout || "").trim().slice(-2000);
    throw new Error(`${command} ${args.join(" ")} exited ${result.status ?? result.signal}: ${detail}`);
  }
  return { wallMs, peakMb, stdout: result.stdout };
}

/** Resident set size of a live process in MB, from /proc. */
export function rssMb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) / 1024;
}

/** Polls `fn` until it returns something other than undefined; fails early if `child` exits. */
export async function until(fn, what, timeoutMs = 20_000, child) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await fn();
    if (value !== undefined) return value;
    if (child && child.exitCode !== null) throw new Error(`${what}: the process exited (${child.exitCode}): ${child.stderrText}`);
    await sleep(25);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${child ? `: ${child.stderrText}` : ""}`);
}

/**
 * Starts `forager serve` with both listeners on port 0 and waits for its
 * serve.json. Returns the child and the discovery info (url, token, webhook_url).
 */
export async function startServe(ctx, files, storage, env = {}, nodeArgs = []) {
  const child = ctx.spawn(process.execPath, [...nodeArgs, BIN, "serve", ...files, "--storage", storage], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NO_COLOR: "1",
      LOG_LEVEL: "warn",
      FORAGER_CONTROL_PORT: "0",
      FORAGER_WEBHOOK_PORT: "0",
      ...env,
    },
  });
  const file = join(storage, "serve.json");
  const info = await until(
    async () => {
      if (!existsSync(file)) return undefined;
      try {
        const parsed = JSON.parse(await readFile(file, "utf8"));
        return parsed.pid === child.pid ? parsed : undefined;
      } catch {
        return undefined; // still being written
      }
    },
    "forager serve to write serve.json",
    30_000,
    child,
  );
  return { child, info };
}

/**
 * Starts a script from bench/helpers as a tracked child; it prints one
 * JSON line on stdout when ready (e.g. `{"port": 1234}`), which is returned.
 */
export async function startHelper(ctx, script, args = [], nodeArgs = []) {
  const child = ctx.spawn(process.execPath, [...nodeArgs, join(ROOT, "bench", "helpers", script), ...args], { cwd: ROOT });
  let buffer = "";
  let timer;
  const info = await new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${script} was not ready within 30 s: ${child.stderrText}`)), 30_000);
    child.stdout.on("data", (d) => {
      buffer += d.toString();
      const line = buffer.split("\n").find((l) => l.trim().startsWith("{"));
      if (line) resolve(JSON.parse(line));
    });
    child.once("exit", (code) => reject(new Error(`${script} exited (${code}) before it was ready: ${child.stderrText}`)));
  }).finally(() => clearTimeout(timer));
  return { child, info };
}
