/**
 * `type: shell` tools: argv, never through a shell. The program runs in its
 * own process group so a timeout or cancel stops everything it started:
 * SIGTERM to the group, SIGKILL after `kill_grace_seconds`. A call settles
 * only once the process is gone.
 */
import { spawn } from "node:child_process";
import { stat } from "node:fs/promises";
import { resolve as resolvePath } from "node:path";
import { constants as osConstants } from "node:os";
import type { ShellToolDef } from "../config/schema.js";
import { abortReason } from "../util/abort.js";
import { describeProcessGroup } from "../util/process-groups.js";
import { errorMessage } from "../errors.js";
import { CappedOutput } from "./output-cap.js";
import { asText, makeTool, renderField } from "./tool-base.js";
import { exposedName } from "./names.js";
import { ToolError, type Tool, type ToolContext } from "./types.js";

export interface ShellToolResult {
  exit_code: number;
  stdout: string;
  stderr: string;
  /** The signal that ended the program, when one did. */
  signal?: string;
  /** Present (true) only when stdout or stderr was cut at max_output_bytes. */
  truncated?: true;
}

const STDERR_TAIL_CHARS = 500;

export function createShellTool(name: string, def: ShellToolDef, baseDir: string, env: NodeJS.ProcessEnv): Tool {
  return makeTool({
    name,
    exposedName: exposedName(name),
    description: def.description,
    inputSchema: def.input_schema,
    run: (args, ctx) => runShell(name, def, baseDir, env, args, ctx),
  });
}

function signalNumber(signal: NodeJS.Signals): number {
  return (osConstants.signals as Record<string, number>)[signal] ?? 0;
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

function tail(text: string): string {
  const trimmed = text.trimEnd();
  return trimmed.length > STDERR_TAIL_CHARS ? `…${trimmed.slice(-STDERR_TAIL_CHARS)}` : trimmed;
}

async function runShell(
  name: string,
  def: ShellToolDef,
  baseDir: string,
  baseEnv: NodeJS.ProcessEnv,
  args: Record<string, unknown>,
  ctx: ToolContext,
): Promise<ShellToolResult> {
  const argv = def.command.map((part, index) => asText(renderField(name, `command[${index}]`, part, ctx, args)));
  const cwdText = def.cwd === undefined ? "." : asText(renderField(name, "cwd", def.cwd, ctx, args));
  const cwd = resolvePath(baseDir, cwdText);
  const toolEnv = renderField(name, "env", def.env, ctx, args) as Record<string, unknown>;
  const env: NodeJS.ProcessEnv = { ...baseEnv };
  for (const [key, value] of Object.entries(toolEnv)) env[key] = asText(value);

  // spawn reports a missing cwd as ENOENT of the program, which misleads.
  const cwdStat = await stat(cwd).catch(() => undefined);
  if (!cwdStat?.isDirectory()) throw new ToolError(name, `tool "${name}": working directory not found: ${cwd}`);
  if (ctx.signal.aborted) throw abortReason(ctx.signal);

  const program = argv[0]!;
  return new Promise<ShellToolResult>((resolve, reject) => {
    const child = spawn(program, argv.slice(1), {
      cwd,
      env,
      shell: false,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    // Recorded before anything can await: the group outlives a kill -9 of
    // this process, and the next start stops it from this record.
    const group = child.pid === undefined ? undefined : describeProcessGroup(child.pid);
    const release = group ? ctx.trackProcessGroup?.(group) : undefined;
    const stdout = new CappedOutput(def.max_output_bytes);
    const stderr = new CappedOutput(def.max_output_bytes);
    child.stdout!.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr!.on("data", (chunk: Buffer) => stderr.push(chunk));

    let stopReason: "timeout" | "abort" | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    let spawnError: NodeJS.ErrnoException | undefined;

    const stop = (reason: "timeout" | "abort") => {
      if (stopReason || child.pid === undefined) return;
      stopReason = reason;
      terminate();
    };
    const terminate = () => {
      if (killTimer || child.pid === undefined) return;
      killGroup(child.pid, "SIGTERM");
      killTimer = setTimeout(() => killGroup(child.pid!, "SIGKILL"), def.kill_grace_seconds * 1000);
    };
    const onAbort = () => stop("abort");
    ctx.signal.addEventListener("abort", onAbort, { once: true });
    const timeout = setTimeout(() => stop("timeout"), def.timeout_seconds * 1000);

    // Background processes the program left behind would hold its pipes
    // open (and outlive the call): once it exits, stop the rest of its group.
    child.on("exit", () => terminate());
    child.on("error", (err: NodeJS.ErrnoException) => {
      spawnError = err;
    });
    child.on("close", (code, signal) => {
      clearTimeout(timeout);
      if (killTimer) clearTimeout(killTimer);
      ctx.signal.removeEventListener("abort", onAbort);
      release?.();
      if (spawnError) {
        if (spawnError.code === "ENOENT") reject(new ToolError(name, `command not found: ${program}`, { cause: spawnError }));
        else if (spawnError.code === "EACCES") reject(new ToolError(name, `permission denied running ${program}`, { cause: spawnError }));
        else reject(new ToolError(name, `tool "${name}": could not start ${program}: ${errorMessage(spawnError)}`, { cause: spawnError }));
        return;
      }
      const result: ShellToolResult = {
        exit_code: code ?? 128 + signalNumber(signal ?? "SIGKILL"),
        stdout: stdout.text(),
        stderr: stderr.text(),
      };
      if (signal) result.signal = signal;
      if (stdout.truncated || stderr.truncated) result.truncated = true;
      if (stopReason === "abort") {
        reject(abortReason(ctx.signal));
        return;
      }
      if (stopReason === "timeout") {
        reject(new ToolError(name, `tool "${name}": timed out after ${def.timeout_seconds}s (process killed)`, { result }));
        return;
      }
      ctx.logger.debug({ tool: name, exit_code: result.exit_code }, "shell tool call finished");
      if (result.exit_code !== 0) {
        const how = signal ? `killed by ${signal}` : `exit code ${result.exit_code}`;
        const errTail = tail(result.stderr);
        reject(new ToolError(name, `tool "${name}": ${program} failed with ${how}${errTail ? `: ${errTail}` : ""}`, { result }));
        return;
      }
      resolve(result);
    });
  });
}
