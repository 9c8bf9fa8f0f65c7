// Runs the CLI as a test needs it: in this process by default (the command
// line of src/cli/main.ts against a stand-in process, no Node start-up per
// call), or as the built bin/forager.js the way a user or CI would, when the
// test is about the process itself: exit codes after signals, the bundle,
// what reaches the real stdout and stderr.
import { spawn, execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "./paths.js";

export { repoRoot };
export const binPath = join(repoRoot, "bin", "forager.js");

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** The environment is `env` alone, not this process's with `env` on top. */
  envOnly?: boolean;
  stdin?: string;
  timeoutMs?: number;
  /** Run bin/forager.js in a process of its own instead of in this one. */
  spawn?: boolean;
  /** Called once the process is spawned (to send signals); implies `spawn`. */
  onSpawn?: (pid: number) => void;
}

/** The environment a command runs with: this process's, quiet and colourless, then `options.env` (undefined removes); or `options.env` alone. */
function cliEnv(options: CliOptions): NodeJS.ProcessEnv {
  const env: Record<string, string | undefined> = options.envOnly ? { ...options.env } : { ...process.env, NO_COLOR: "1", LOG_LEVEL: "warn", ...options.env };
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
  return env as NodeJS.ProcessEnv;
}

/** Runs `forager <args>`: in this process, unless `options.spawn` or `options.onSpawn` asks for a real one. */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return options.spawn || options.onSpawn ? spawnCli(args, options) : runInProcess(args, options);
}

/** Runs the command line in this process, as `main` would in its own, and collects what it wrote. */
async function runInProcess(args: string[], options: CliOptions): Promise<CliResult> {
  const { runCommandLine } = await import("../../src/cli/main.js");
  let stdout = "";
  let stderr = "";
  const interrupts = new Set<() => void>();
  const run = runCommandLine(args, {
    env: cliEnv(options),
    cwd: options.cwd ?? repoRoot,
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    stdoutIsTTY: false,
    stderrIsTTY: false,
    readStdin: async () => options.stdin ?? "",
    // No real signal reaches a command run here (a test that sends one spawns);
    // a timeout below interrupts it as Ctrl-C would.
    onSignal: (signal, handler) => {
      if (signal !== "SIGINT") return () => {};
      interrupts.add(handler);
      return () => interrupts.delete(handler);
    },
  });
  let timer: NodeJS.Timeout | undefined;
  const timeoutMs = options.timeoutMs ?? 30000;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      // Ctrl-C twice (stop, then stop now): the command must not run on in
      // this process, and hold its files and ports, after the test failed.
      for (let press = 0; press < 2; press++) for (const handler of [...interrupts]) handler();
      reject(new Error(`forager ${args.join(" ")} did not finish in ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
  });
  try {
    const code = await Promise.race([run, timeout]);
    return { code, signal: null, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}

/** Runs bin/forager.js in a child process: for tests about the process itself. */
export function spawnCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const env = cliEnv(options);
    const child = spawn(process.execPath, [binPath, ...args], {
      cwd: options.cwd ?? repoRoot,
      env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`forager ${args.join(" ")} did not finish in ${options.timeoutMs ?? 30000} ms\n${stderr}`));
    }, options.timeoutMs ?? 30000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
    if (options.onSpawn) options.onSpawn(child.pid!);
    child.stdin.end(options.stdin ?? "");
  });
}

export async function tempDir(prefix = "forager-test-"): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

/** Command lines of running processes whose arguments contain `needle`. */
export function processesMatching(needle: string): string[] {
  const out = execFileSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" });
  return out
    .split("\n")
    .filter((line) => line.includes(needle) && !line.includes("ps -eo"));
}

/** A stack trace line, which users must never see without --verbose. */
export const STACK_LINE = /^\s+at .+\(.+:\d+:\d+\)$|^\s+at .+:\d+:\d+$/m;
