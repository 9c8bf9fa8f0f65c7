/**
 * The only place that touches argv, signal handlers and process.exit.
 * Commands are loaded lazily, so `forager --help` pays for commander alone.
 *
 * `runCommandLine` is the whole command line against a `CliProcess` and
 * returns the exit code; `main` gives it the real process and exits. Tests
 * call `runCommandLine` directly with a stand-in, which runs a command
 * without starting a Node process for it.
 */
import { Command, CommanderError, Option } from "commander";
import { readFileSync } from "node:fs";
import type { CliContext } from "./context.js";
import { reportError } from "./report-error.js";
import type { Logger } from "../logging/index.js";
// The pino-free part of logging: resolving flags must not load the logger.
import { LEVEL_VALUES, LOG_LEVELS, colorEnabled, type LogLevel } from "../logging/levels.js";
import { lazyLogger } from "../logging/lazy-logger.js";
import { StderrSink } from "./stderr.js";
import { resolveFormatStrict, resolveLevelStrict, type GlobalFlags } from "./log-settings.js";
import { errorDocument, errorDocumentLine } from "./error-document.js";
import { wantedJson } from "./json-flags.js";
import { guardStdout, writeStdout } from "./stdout.js";
import { UsageError } from "../errors.js";

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

/** What a command line needs from its process: bin/forager.js gives the real one, tests a stand-in. */
export interface CliProcess {
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Writes to stdout (the command's result). */
  stdout(text: string): void;
  /** Writes to stderr (messages and logs). */
  stderr(text: string): void;
  stdoutIsTTY: boolean;
  stderrIsTTY: boolean;
  /** All of stdin, read on demand. */
  readStdin(): Promise<string>;
  /** Calls `handler` on each `signal` received; returns the undo. */
  onSignal(signal: "SIGINT" | "SIGTERM" | "SIGHUP", handler: () => void): () => void;
}

/** The running Node process as a `CliProcess`. */
function realProcess(): CliProcess {
  return {
    env: process.env,
    cwd: process.cwd(),
    stdout: (text) => writeStdout(text),
    stderr: (text) => process.stderr.write(text),
    stdoutIsTTY: Boolean(process.stdout.isTTY),
    stderrIsTTY: Boolean(process.stderr.isTTY),
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString("utf8");
    },
    onSignal: (signal, handler) => {
      process.on(signal, handler);
      return () => process.off(signal, handler);
    },
  };
}


function makeContext(
  proc: CliProcess,
  level: LogLevel,
  sink: StderrSink,
  interrupt: AbortController,
  force: AbortController,
  hangup: Set<() => void>,
): CliContext {
  const env = proc.env;
  const color = sink.format === "human" && colorEnabled(env, { isTTY: proc.stderrIsTTY });
  let logger: Logger | undefined;
  return {
    env,
    cwd: proc.cwd,
    out: (text) => proc.stdout(text),
    err: (text) => sink.text(text),
    say: (lineLevel, msg, fields = {}, extra) => {
      // Errors always show: every non-zero exit says why, even at LOG_LEVEL=silent.
      if (lineLevel !== "error" && LEVEL_VALUES[lineLevel] < LEVEL_VALUES[level]) return;
      if (sink.format === "json") return sink.line(lineLevel, msg, fields);
      // A problem in a file starts with its location (file:line:col), no prefix.
      if (fields.issue === true) sink.raw(`${msg}\n`);
      else sink.line(lineLevel, msg);
      if (extra) sink.raw(`${extra}\n`);
      if (typeof fields.stack === "string") sink.raw(`${fields.stack}\n`);
    },
    stderr: sink,
    logFormat: sink.format,
    stdoutIsTTY: proc.stdoutIsTTY,
    stderrIsTTY: proc.stderrIsTTY,
    color,
    logLevel: level,
    verbose: level === "debug" || level === "trace",
    logger: () => {
      // pino is made on the first line written: a command that logs nothing never evaluates it.
      logger ??= lazyLogger(
        () => loggingModule!.createLogger({ level, env, color, format: sink.format, destination: { write: (line: string) => sink.raw(line) } }),
        level,
      );
      return logger;
    },
    interrupt: interrupt.signal,
    forceInterrupt: force.signal,
    onHangup: (handler) => {
      hangup.add(handler);
      return () => hangup.delete(handler);
    },
    readStdin: () => proc.readStdin(),
  };
}

let loggingModule: typeof import("../logging/index.js") | undefined;

type Action = (ctx: CliContext, args: unknown[], opts: Record<string, unknown>) => Promise<number>;

/** Builds the command tree; `run` receives the chosen action once parsing succeeded. */
function buildProgram(
  onAction: (action: () => Promise<Action>, args: unknown[], opts: Record<string, unknown>) => void,
  sink: StderrSink,
  stdout: (text: string) => void,
): Command {
  const program = new Command("forager")
    .description("Run LLM agents headlessly: one-shot runs for CI, or a daemon with timers, webhooks and a control API.")
    .version(packageVersion(), "--version", "print the version")
    .addOption(new Option("--log-level <level>", "log level").choices(LOG_LEVELS))
    .option("-v, --verbose", "debug logs, and stack traces on errors")
    .option("-q, --quiet", "warnings and errors only")
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({ writeErr: (s) => sink.text(s), writeOut: (s) => stdout(s) })
    // Before the subcommands are added, so they inherit it: usage errors must exit 2, not 1.
    .exitOverride();

  const bind =
    (load: () => Promise<Action>) =>
    (...received: unknown[]) => {
      // commander passes: ...positional args, options, command
      const command = received[received.length - 1] as Command;
      const opts = command.opts();
      onAction(load, received.slice(0, -2), opts);
    };

  program
    .command("run")
    .description("run one execution of an agent and exit with its status")
    .argument("<agent.yaml>", "the agent file")
    .option("--entry <id>", "entry point to run (default: `default`, or the only manual/api one)")
    .option("--input <json>", "input object: inline JSON, @file.json, or - for stdin")
    .option("--timeout <sec>", "stop the execution after this many seconds (exit 124)")
    .option("--json", "print the result JSON on stdout")
    .option("--stream-json", "print every event as a JSON line while the run goes, then the result JSON as the last line")
    .option("--storage <dir>", "storage folder (default: FORAGER_STORAGE, runtime.storage_path, ./storage)")
    .option("--record <file>", "write every LLM request and response to this file (JSON lines)")
    .option("--replay <file>", "answer every LLM call from a recording, with no network")
    .action(bind(async () => (await import("./commands/run.js")).runCommand as Action));

  program
    .command("serve")
    .description("serve agents as a daemon: timers, event entry points, webhooks, control API")
    .argument("<agent.yaml...>", "one or more agent files")
    .option("--storage <dir>", "storage folder")
    .option(
      "--rolling",
      "runtime.backend redis: start even if the cluster runs other agent definitions (a rolling deploy), then make this node's the cluster's; ignored with the file backend",
    )
    .action(bind(async () => (await import("./commands/serve.js")).serveCommand as Action));

  const client = (cmd: Command) =>
    cmd
      .option("--url <url>", "control API URL (default: FORAGER_URL or <storage>/serve.json)")
      .option("--token <token>", "control API token (default: FORAGER_TOKEN or <storage>/serve.json)")
      .option("--storage <dir>", "storage folder holding serve.json");

  client(
    program
      .command("trigger")
      .description("start an execution on a running server")
      .argument("<entry-point>", "entry point id")
      .option("--agent <name>", "agent name (needed when the server runs several)")
      .option("--input <json>", "input object: inline JSON, @file.json, or - for stdin")
      .option("--idempotency-key <key>", "the same key within 24 h returns the first execution")
      .option("--wait", "wait for the execution and exit with its code")
      .option("--timeout <sec>", "with --wait: give up waiting after this many seconds")
      .option("--json", "print JSON on stdout"),
  ).action(bind(async () => (await import("./commands/trigger.js")).triggerCommand as Action));

  client(program.command("stats").description("show a running server's stats").option("--json", "print JSON")).action(
    bind(async () => (await import("./commands/stats.js")).statsCommand as Action),
  );
  client(program.command("pause-timers").description("pause timer entry points on a running server")).action(
    bind(async () => (await import("./commands/timers.js")).pauseTimersCommand as Action),
  );
  client(program.command("resume-timers").description("resume timer entry points on a running server")).action(
    bind(async () => (await import("./commands/timers.js")).resumeTimersCommand as Action),
  );

  client(
    program
      .command("cancel")
      .description("cancel a queued or running execution on a running server")
      .argument("<execution-id>", "the execution to cancel")
      .option("--json", "print the result JSON"),
  ).action(bind(async () => (await import("./commands/cancel.js")).cancelCommand as Action));
  client(
    program
      .command("rerun")
      .description("run a stored execution again (same agent, entry point and input) on a running server")
      .argument("<execution-id>", "the execution to re-run (any status: failed, cancelled, interrupted, ...)")
      .option("--wait", "wait for the new execution and exit with its code")
      .option("--timeout <sec>", "with --wait: give up waiting after this many seconds")
      .option("--json", "print JSON on stdout"),
  ).action(bind(async () => (await import("./commands/rerun.js")).rerunCommand as Action));
  client(
    program
      .command("events")
      .description("follow a running server's live events until interrupted")
      .option("--types <types>", "only these event types, comma-separated (e.g. execution_failed,timer_skipped)")
      .option("--json", "one JSON object a line")
      .option("--reconnect-for <sec>", "when the server goes away, keep reconnecting this long (0: exit at once)", "60"),
  ).action(bind(async () => (await import("./commands/events.js")).eventsCommand as Action));

  program
    .command("validate")
    .description("check agent files; prints every problem with its line and column")
    .argument("<agent.yaml...>", "agent files")
    .option("--json", "print the problems as JSON")
    .option("--strict-env", "an unset ${VAR} without a default is an error, not a warning")
    .action(bind(async () => (await import("./commands/validate.js")).validateCommand as Action));

  program
    .command("schema")
    .description("print the JSON Schema of the agent file")
    .action(bind(async () => (await import("./commands/schema.js")).schemaCommand as Action));

  program
    .command("graph")
    .description("print a Mermaid flowchart of an agent's graph")
    .argument("<agent.yaml>", "the agent file")
    .action(bind(async () => (await import("./commands/graph.js")).graphCommand as Action));

  const sessions = program.command("sessions").description("list, show and prune stored executions");
  sessions
    .command("list")
    .description("executions, newest first")
    .option("--agent <name>", "only this agent")
    .option("--status <status>", "only this status")
    .option("--limit <n>", "at most this many", "50")
    .option("--json", "print JSON")
    .option("--storage <dir>", "storage folder")
    .option("--agent-file <agent.yaml>", "read the storage settings of this agent file (runtime.backend: redis reads the cluster's Redis)")
    .action(bind(async () => (await import("./commands/sessions.js")).sessionsListCommand as Action));
  sessions
    .command("show")
    .description("one execution's result and events")
    .argument("<id>", "execution id (or session id)")
    .option("--json", "print JSON")
    .option("--storage <dir>", "storage folder")
    .option("--agent-file <agent.yaml>", "read the storage settings of this agent file (runtime.backend: redis reads the cluster's Redis)")
    .action(bind(async () => (await import("./commands/sessions.js")).sessionsShowCommand as Action));
  sessions
    .command("prune")
    .description("remove old sessions")
    .option("--older-than <duration>", "remove sessions finished longer ago than this (e.g. 7d)")
    .option("--keep <n>", "keep at most this many sessions per agent")
    .option("--agent <name>", "only this agent")
    .option("--dry-run", "list what would be removed")
    .option("--json", "print JSON")
    .option("--storage <dir>", "storage folder")
    .option("--agent-file <agent.yaml>", "read the storage settings of this agent file (runtime.backend: redis reads the cluster's Redis)")
    .action(bind(async () => (await import("./commands/sessions.js")).sessionsPruneCommand as Action));

  return program;
}

/** The command line of `bin/forager.js`: runs it against the real process, then exits with its code. */
export async function main(argv: string[]): Promise<void> {
  guardStdout();
  await finish(await runCommandLine(argv, realProcess()));
}

/** Runs one command line (`argv` without node and the script) against `proc`; resolves to its exit code. */
export async function runCommandLine(argv: string[], proc: CliProcess): Promise<number> {
  const json = wantedJson(argv);
  const printError = (err: unknown) => printErrorDocument(err, json, proc.stdout);
  let sink: StderrSink;
  try {
    sink = new StderrSink(resolveFormatStrict(proc.env), (text) => proc.stderr(text));
  } catch (err) {
    // LOG_FORMAT itself is wrong: say so in plain text, the only format left.
    return usageFailure(err, new StderrSink("human", (text) => proc.stderr(text)), printError);
  }
  let chosen: { load: () => Promise<Action>; args: unknown[]; opts: Record<string, unknown> } | undefined;
  const program = buildProgram(
    (load, args, opts) => {
      chosen = { load, args, opts };
    },
    sink,
    proc.stdout,
  );
  if (argv.length === 0) {
    program.outputHelp({ error: true });
    return 2;
  }

  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with code 0; usage mistakes with 2.
      // A pipeline reading stdout always gets JSON (SPEC 1), also for a flag commander rejected.
      if (err.exitCode !== 0) printError(new UsageError(err.message.replace(/^error:\s*/, "")));
      return err.exitCode === 0 ? 0 : 2;
    }
    throw err;
  }
  if (!chosen) {
    program.outputHelp({ error: true });
    return 2;
  }

  let level: LogLevel;
  try {
    level = resolveLevelStrict(program.opts() as GlobalFlags, proc.env);
  } catch (err) {
    return usageFailure(err, sink, printError);
  }
  const interrupt = new AbortController();
  const force = new AbortController();
  // SIGHUP goes to the command that claimed it (serve reloads); otherwise it is an interrupt.
  const hangup = new Set<() => void>();
  const ctx = makeContext(proc, level, sink, interrupt, force, hangup);
  const onSignal = (name: NodeJS.Signals) => {
    if (!interrupt.signal.aborted) {
      const again = name === "SIGINT" ? "press Ctrl-C again to force" : `send ${name} again to force`;
      ctx.say("warn", `${name} received: stopping (${again})`, { signal: name });
      interrupt.abort(name);
    } else force.abort(name);
  };
  const onHangup = () => {
    if (hangup.size === 0) return onSignal("SIGHUP");
    for (const handler of hangup) handler();
  };
  const undo = [
    proc.onSignal("SIGINT", () => onSignal("SIGINT")),
    proc.onSignal("SIGTERM", () => onSignal("SIGTERM")),
    proc.onSignal("SIGHUP", onHangup),
  ];

  try {
    const [action, logging] = await Promise.all([chosen.load(), import("../logging/index.js")]);
    loggingModule = logging;
    return await action(ctx, chosen.args, chosen.opts);
  } catch (err) {
    const code = reportError(err, ctx);
    printError(err);
    return code;
  } finally {
    for (const off of undo) off();
  }
}

/** A usage error found before any command ran (log settings): one line, the JSON document with --json, exit 2. */
function usageFailure(err: unknown, sink: StderrSink, printError: (err: unknown) => void): number {
  const code = reportError(err, {
    verbose: false,
    say: (level, msg, fields) => sink.line(level, msg, fields),
  });
  printError(err);
  return code;
}

/** With --json the SPEC 1 error document on stdout; with --stream-json the same as one line. */
function printErrorDocument(err: unknown, json: "json" | "stream" | undefined, stdout: (text: string) => void): void {
  if (json === "json") stdout(`${JSON.stringify(errorDocument(err), null, 2)}\n`);
  else if (json === "stream") stdout(errorDocumentLine(err));
}

async function finish(code: number): Promise<void> {
  await flushOutput();
  process.exit(code);
}

/** Waits until everything written to stdout and stderr has been handed to the OS. */
async function flushOutput(): Promise<void> {
  const drain = (stream: NodeJS.WriteStream) =>
    new Promise<void>((resolve) => {
      if (stream.writableLength === 0) resolve();
      else stream.write("", () => resolve());
    });
  await Promise.all([drain(process.stdout), drain(process.stderr)]);
}
