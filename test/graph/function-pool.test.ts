// The worker pool function nodes run in: structured-clone arguments and
// results, errors that keep their class, log forwarding, abort (polled and
// by message), termination of a function that never returns, laziness, and
// the short synchronous wait for a quick answer with its fall-back to the
// asynchronous path.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import pino from "pino";
import { FunctionCallError, FunctionPool, type FunctionCall } from "../../src/graph/nodes/function-pool.js";
import { silentLogger, type Logger } from "../../src/logging/index.js";
import { tempDir, writeModule } from "./helpers.js";
import { repoRoot } from "../helpers/paths.js";

const run = promisify(execFile);

const MODULE = `
let loads = 0;
loads++;
export class ValidationError extends Error {}
export function add({ input }) { return { sum: input.a + input.b, loads }; }
export function invalid() { throw new ValidationError("field x is missing"); }
export function spin({ log }) { log.info("started"); for (;;) {} }
export function politeSpin({ signal, log }) { log.info("started"); while (!signal.aborted) {} return { stopped: true }; }
export async function waitForAbort({ signal, log }) {
  log.info("started");
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve({ reason: String(signal.reason?.message ?? signal.reason) })));
}
export function chatty({ log }) {
  log.info({ k: 1 }, "hello from the worker");
  log.child({ part: "inner" }).warn("careful");
  log.debug("below the level");
  return {};
}
export function returnsFunction() { return { f() {} }; }
export async function quickOrWait({ input, signal, log }) {
  if (input.quick) return { quick: true };
  log.info("started");
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve({ stopped: String(signal.reason?.message ?? signal.reason) })));
}
export function quickOrSpin({ input, log }) {
  if (input.quick) return { quick: true };
  log.info("started");
  for (;;) {}
}
export function exitThread() { process.exit(3); }
`;

const TS_MODULE = `
interface Pair { a: number; b: number }
export function multiply({ input }: { input: Pair }): { product: number } {
  const product: number = input.a * input.b;
  return { product };
}
`;

let dir: string;
let cleanup: () => Promise<void>;
let url: string;
before(async () => {
  ({ dir, cleanup } = await tempDir());
  await writeModule(dir, "fns.mjs", MODULE);
  await writeModule(dir, "typed.ts", TS_MODULE);
  url = pathToFileURL(join(dir, "fns.mjs")).href;
});
after(() => cleanup());

/** A logger that tells when the function has started (it logs "started" first). */
function startLogger(): { logger: Logger; started: Promise<void> } {
  let resolve!: () => void;
  const started = new Promise<void>((r) => (resolve = r));
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (chunk.toString().includes('"msg":"started"')) resolve();
      done();
    },
  });
  return { logger: pino({ level: "info" }, sink) as unknown as Logger, started };
}

/** Calls `exportName` quickly (input.quick) until a call is answered within the short wait. */
async function untilWaitedFor(pool: FunctionPool, exportName: string): Promise<void> {
  const before = pool.stats.waited;
  for (let i = 0; i < 100 && pool.stats.waited === before; i++) {
    assert.deepEqual(await pool.run(call(exportName, { args: { input: { quick: true }, memory: {}, state: {}, event: null, execution: {} } })), { quick: true });
  }
  assert.equal(pool.stats.waited, before + 1, "a quick call was answered within the short wait");
}

function call(exportName: string, extra: Partial<FunctionCall> = {}): FunctionCall {
  return {
    url,
    exportName,
    args: { input: {}, memory: {}, state: {}, event: null, execution: { id: "exec_1" } },
    signal: new AbortController().signal,
    logger: silentLogger(),
    killGraceMs: 1000,
    ...extra,
  };
}

describe("function pool", () => {
  test("no worker starts before the first call; one call per worker; close ends them", async () => {
    const pool = new FunctionPool({ warmWorkers: 1, maxWorkers: 2 });
    try {
      assert.equal(pool.size, 0);
      const value = await pool.run(call("add", { args: { input: { a: 2, b: 3 }, memory: {}, state: {}, event: null, execution: {} } }));
      assert.deepEqual(value, { sum: 5, loads: 1 });
      assert.equal(pool.size, 1);
      // The module is loaded once per worker and kept.
      assert.deepEqual(await pool.run(call("add", { args: { input: { a: 1, b: 1 }, memory: {}, state: {}, event: null, execution: {} } })), { sum: 2, loads: 1 });
      assert.equal(pool.size, 1);
    } finally {
      await pool.close();
    }
    assert.equal(pool.size, 0);
    await assert.rejects(pool.run(call("add")), /closed/);
  });

  test("a thrown error keeps its class name, message and stack", async () => {
    const pool = new FunctionPool({ warmWorkers: 1 });
    try {
      const err = await pool.run(call("invalid")).then(
        () => assert.fail("expected a rejection"),
        (e: unknown) => e as Error,
      );
      assert.equal(err.constructor.name, "ValidationError");
      assert.equal(err.message, "field x is missing");
      assert.match(err.stack ?? "", /at invalid \(.*fns\.mjs:\d+:\d+\)/);
    } finally {
      await pool.close();
    }
  });

  test("log calls reach the main thread's logger, with child bindings, above its level only", async () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split("\n")) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const logger = pino({ level: "info" }, sink) as unknown as Logger;
    const pool = new FunctionPool({ warmWorkers: 1 });
    try {
      await pool.run(call("chatty", { logger }));
    } finally {
      await pool.close();
    }
    assert.deepEqual(
      lines.map((l) => [l.msg, l.k, l.part]),
      [
        ["hello from the worker", 1, undefined],
        ["careful", undefined, "inner"],
      ],
    );
  });

  test("a synchronous loop that ignores its signal is terminated after the kill grace; the main thread runs meanwhile", async () => {
    const pool = new FunctionPool({ warmWorkers: 1, maxWorkers: 1 });
    try {
      const controller = new AbortController();
      let ticks = 0;
      const ticker = setInterval(() => ticks++, 10);
      const { logger, started: running } = startLogger();
      const pending = pool.run(call("spin", { signal: controller.signal, killGraceMs: 300, logger }));
      await running;
      const started = Date.now();
      ticks = 0;
      setTimeout(() => controller.abort("cancel_previous"), 200);
      await assert.rejects(pending, /cancel_previous/);
      clearInterval(ticker);
      const took = Date.now() - started;
      assert.ok(took >= 450 && took < 10_000, `settled after the abort plus the kill grace (${took} ms)`);
      assert.ok(ticks >= 10, `the main thread's timers ran during the loop (${ticks} ticks)`);
      assert.equal(pool.size, 0, "the stuck worker is gone");
      // The pool replaces it: the next call gets a fresh worker.
      assert.deepEqual(await pool.run(call("add", { args: { input: { a: 1, b: 2 }, memory: {}, state: {}, event: null, execution: {} } })), { sum: 3, loads: 1 });
    } finally {
      await pool.close();
    }
  });

  test("a synchronous loop that polls signal.aborted sees the abort and returns; its worker is kept", async () => {
    const pool = new FunctionPool({ warmWorkers: 1, maxWorkers: 1 });
    try {
      const controller = new AbortController();
      const first = startLogger();
      const pending = pool.run(call("politeSpin", { signal: controller.signal, killGraceMs: 20_000, logger: first.logger }));
      await first.started;
      controller.abort(new Error("timed out after 1s"));
      assert.deepEqual(await pending, { stopped: true });
      assert.equal(pool.size, 1);
      // An async function is told by message, with the reason.
      const second = new AbortController();
      const next = startLogger();
      const waiting = pool.run(call("waitForAbort", { signal: second.signal, killGraceMs: 20_000, logger: next.logger }));
      await next.started;
      second.abort(new Error("timed out after 2s"));
      assert.deepEqual(await waiting, { reason: "timed out after 2s" });
    } finally {
      await pool.close();
    }
  });

  test("calls beyond maxWorkers wait their turn; an aborted waiting call never starts", async () => {
    const pool = new FunctionPool({ warmWorkers: 1, maxWorkers: 1 });
    try {
      const first = new AbortController();
      const { logger, started } = startLogger();
      const busy = pool.run(call("waitForAbort", { signal: first.signal, logger }));
      await started;
      const waiting = new AbortController();
      const queued = pool.run(call("add", { signal: waiting.signal }));
      waiting.abort("gave up");
      await assert.rejects(queued, /gave up/);
      const next = pool.run(call("add", { args: { input: { a: 5, b: 5 }, memory: {}, state: {}, event: null, execution: {} } }));
      next.catch(() => {});
      first.abort("done");
      assert.deepEqual(await busy, { reason: "done" });
      assert.deepEqual(await next, { sum: 10, loads: 1 });
      assert.equal(pool.size, 1);
    } finally {
      await pool.close();
    }
  });

  test("a result that cannot cross threads, or a thread that exits, is a clear failure", async () => {
    const pool = new FunctionPool({ warmWorkers: 1 });
    try {
      const uncloneable = await pool.run(call("returnsFunction")).catch((e: unknown) => e);
      assert.ok(uncloneable instanceof FunctionCallError);
      assert.match(uncloneable.message, /cannot be passed back/);
      const exited = await pool.run(call("exitThread")).catch((e: unknown) => e);
      assert.ok(exited instanceof FunctionCallError);
      assert.match(exited.message, /worker thread (died|exited).*3/);
    } finally {
      await pool.close();
    }
  });

  test("a .ts module loads when forager runs from source", async () => {
    // From source means under tsx, and the tests run from their JavaScript
    // build (scripts/test.mjs): the pool runs in a node of its own that loads src/ through tsx.
    const source = pathToFileURL(join(repoRoot, "src", "graph", "nodes", "function-pool.ts")).href;
    const logging = pathToFileURL(join(repoRoot, "src", "logging", "index.ts")).href;
    const url = pathToFileURL(join(dir, "typed.ts")).href;
    const script = `
      const { FunctionPool } = await import(${JSON.stringify(source)});
      const { silentLogger } = await import(${JSON.stringify(logging)});
      const pool = new FunctionPool({ warmWorkers: 1 });
      const call = ${JSON.stringify({ url, exportName: "multiply", args: { input: { a: 6, b: 7 }, memory: {}, state: {}, event: null, execution: {} } })};
      try {
        process.stdout.write(JSON.stringify(await pool.run({ ...call, signal: new AbortController().signal, logger: silentLogger(), killGraceMs: 1000 })));
      } finally {
        await pool.close();
      }`;
    const { stdout } = await run(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: repoRoot, timeout: 60_000 });
    assert.deepEqual(JSON.parse(stdout), { product: 42 });
  });
  test("a quick function's next call is answered within the short wait: same values, log lines in order, errors with class and stack", async () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split("\n")) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const logger = pino({ level: "info" }, sink) as unknown as Logger;
    // A generous bound: the wait ends as soon as the answer comes, and a loaded machine may be slow to run the worker.
    const pool = new FunctionPool({ warmWorkers: 1, syncWaitMs: 5000 });
    try {
      // The first call imports the module: it goes the asynchronous way and tells the pool the function is quick.
      await pool.run(call("chatty", { logger }));
      assert.deepEqual(pool.stats, { waited: 0, fellBack: 0, async: 1 });
      let settled = false;
      const second = pool.run(call("chatty", { logger })).then(() => (settled = true));
      await null;
      assert.equal(settled, true, "the answer was there before the event loop turned");
      await second;
      assert.deepEqual(pool.stats, { waited: 1, fellBack: 0, async: 1 });
      assert.deepEqual(
        lines.map((l) => [l.msg, l.part]),
        [
          ["hello from the worker", undefined],
          ["careful", "inner"],
          ["hello from the worker", undefined],
          ["careful", "inner"],
        ],
      );

      await pool.run(call("invalid")).catch(() => {});
      const waitedBefore = pool.stats.waited;
      const err = await pool.run(call("invalid")).then(
        () => assert.fail("expected a rejection"),
        (e: unknown) => e as Error,
      );
      assert.equal(pool.stats.waited, waitedBefore + 1);
      assert.equal(err.constructor.name, "ValidationError");
      assert.match(err.stack ?? "", /at invalid \(.*fns\.mjs:\d+:\d+\)/);

      await pool.run(call("add", { args: { input: { a: 1, b: 1 }, memory: {}, state: {}, event: null, execution: {} } }));
      assert.deepEqual(await pool.run(call("add", { args: { input: { a: 20, b: 22 }, memory: {}, state: {}, event: null, execution: {} } })), { sum: 42, loads: 1 });
      assert.equal(pool.stats.waited, waitedBefore + 2);
    } finally {
      await pool.close();
    }
  });

  test("a call that outlasts the short wait goes on asynchronously: timers run meanwhile and cancel stops it", async () => {
    const pool = new FunctionPool({ warmWorkers: 1, maxWorkers: 1, syncWaitMs: 50 });
    try {
      await untilWaitedFor(pool, "quickOrWait");
      const controller = new AbortController();
      const { logger, started } = startLogger();
      const pending = pool.run(call("quickOrWait", { signal: controller.signal, logger, killGraceMs: 20_000 }));
      assert.equal(pool.stats.fellBack, 1, "the wait gave up and the call went on");
      await started;
      // Only a running event loop fires this timer, and only its abort ends the call.
      setTimeout(() => controller.abort(new Error("cancelled by the test")), 20);
      assert.deepEqual(await pending, { stopped: "cancelled by the test" });
      assert.equal(pool.size, 1, "the worker is kept");
      // That call was slow: the next one goes the asynchronous way and, being quick, makes the one after wait again.
      const asyncBefore = pool.stats.async;
      await untilWaitedFor(pool, "quickOrWait");
      assert.equal(pool.stats.async, asyncBefore + 1);
    } finally {
      await pool.close();
    }
  });

  test("a synchronous loop past the short wait is terminated after its kill grace on cancel", async () => {
    const pool = new FunctionPool({ warmWorkers: 1, maxWorkers: 1, syncWaitMs: 50 });
    try {
      await untilWaitedFor(pool, "quickOrSpin");
      const controller = new AbortController();
      const { logger, started } = startLogger();
      const pending = pool.run(call("quickOrSpin", { signal: controller.signal, logger, killGraceMs: 300 }));
      assert.equal(pool.stats.fellBack, 1);
      await started;
      const aborted = Date.now();
      setTimeout(() => controller.abort("cancel_previous"), 20);
      await assert.rejects(pending, /cancel_previous/);
      const took = Date.now() - aborted;
      assert.ok(took >= 300, `settled only after the kill grace (${took} ms)`);
      assert.equal(pool.size, 0, "the stuck worker is gone");
    } finally {
      await pool.close();
    }
  });

  test("no short wait while another call runs: that call's answer is never held up", async () => {
    const pool = new FunctionPool({ warmWorkers: 2, maxWorkers: 2, syncWaitMs: 5000 });
    try {
      // Alone, a call to this function would be waited for.
      await untilWaitedFor(pool, "quickOrSpin");
      const first = new AbortController();
      const { logger, started } = startLogger();
      const busy = pool.run(call("quickOrWait", { signal: first.signal, logger, killGraceMs: 20_000 }));
      await started;
      const { waited, async } = pool.stats;
      for (let i = 0; i < 2; i++) {
        assert.deepEqual(await pool.run(call("quickOrSpin", { args: { input: { quick: true }, memory: {}, state: {}, event: null, execution: {} } })), { quick: true });
      }
      assert.equal(pool.stats.waited, waited, "no call was waited for");
      assert.equal(pool.stats.async, async + 2);
      first.abort("done");
      assert.deepEqual(await busy, { stopped: "done" });
    } finally {
      await pool.close();
    }
  });
});
