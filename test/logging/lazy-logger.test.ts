// The CLI's logger makes its pino logger on the first line it would write
// (src/logging/lazy-logger.ts): a command that logs nothing never pays for
// pino, and one that logs writes exactly what an eager logger would.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { lazyLogger } from "../../src/logging/lazy-logger.js";
import { jsonLogger } from "../helpers/json-logs.js";
import type { Logger } from "../../src/logging/index.js";

/** A lazy logger at `level` over a capturing JSON logger, and how many times it was made. */
function counted(level: "debug" | "info" | "warn" | "error") {
  const { logger: real, logs } = jsonLogger(level);
  const made = { count: 0 };
  const logger = lazyLogger(() => {
    made.count++;
    return real;
  }, level);
  return { logger, logs, made };
}

describe("lazyLogger", () => {
  test("lines below the level, level checks and children never make the logger", () => {
    const { logger, logs, made } = counted("warn");
    logger.info("not written");
    logger.debug({ a: 1 }, "not written");
    const child = logger.child({ execution_id: "exec_1" });
    child.info("not written either");
    assert.equal(logger.level, "warn");
    assert.equal((logger as unknown as { levelVal: number }).levelVal, 40);
    assert.equal(logger.isLevelEnabled("info"), false);
    assert.equal(child.isLevelEnabled("error"), true);
    assert.equal(made.count, 0);
    assert.deepEqual(logs, []);
  });

  test("the first line at an enabled level makes it once, and writes what an eager logger writes", () => {
    const { logger, logs, made } = counted("info");
    logger.info({ n: 1 }, "first");
    logger.warn("second");
    assert.equal(made.count, 1);
    assert.deepEqual(
      logs.map(({ level, msg, n }) => ({ level, msg, n })),
      [
        { level: "info", msg: "first", n: 1 },
        { level: "warn", msg: "second", n: undefined },
      ],
    );
  });

  test("a child made before the logger carries its bindings, nested, when it first writes", () => {
    const { logger, logs, made } = counted("info");
    const child: Logger = logger.child({ agent: "a" }).child({ execution_id: "exec_2" });
    assert.equal(made.count, 0);
    child.error({ err: new Error("boom") }, "failed");
    assert.equal(made.count, 1);
    assert.equal(logs.length, 1);
    assert.equal(logs[0]!.agent, "a");
    assert.equal(logs[0]!.execution_id, "exec_2");
    assert.equal((logs[0]!.err as { message: string }).message, "boom");
  });

  test("a child with a level of its own is made at once, with that level", () => {
    const { logger, logs, made } = counted("warn");
    const chatty = logger.child({ part: "x" }, { level: "debug" });
    assert.equal(made.count, 1);
    chatty.debug("written");
    assert.deepEqual(logs.map((l) => [l.level, l.part, l.msg]), [["debug", "x", "written"]]);
  });

  test("setting the level makes the logger and applies to it", () => {
    const { logger, logs, made } = counted("warn");
    logger.level = "info";
    assert.equal(made.count, 1);
    logger.info("now written");
    assert.deepEqual(logs.map((l) => l.msg), ["now written"]);
  });
});
