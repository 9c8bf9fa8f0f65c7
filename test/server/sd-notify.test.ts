import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { createLogger } from "../../src/logging/index.js";
import { SystemdNotifier } from "../../src/server/sd-notify.js";

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n")) if (line.trim()) lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, logger: createLogger({ format: "json", level: "debug", destination: stream }) };
}

describe("SystemdNotifier", () => {
  test("without NOTIFY_SOCKET it does nothing: no helper runs, no warning", async () => {
    const { lines, logger } = capture();
    const notifier = new SystemdNotifier({ env: { WATCHDOG_USEC: "1000000" }, logger, command: "/nonexistent/systemd-notify" });
    assert.equal(notifier.active, false);
    await notifier.notify("READY=1");
    assert.equal(notifier.watchdogIntervalMs(), undefined);
    assert.deepEqual(lines, []);
  });

  test("a missing systemd-notify is said once, then nothing more is tried", async () => {
    const { lines, logger } = capture();
    const notifier = new SystemdNotifier({ env: { NOTIFY_SOCKET: "/run/nothing.sock" }, logger, command: "/nonexistent/systemd-notify" });
    await notifier.notify("READY=1");
    await notifier.notify("STOPPING=1");
    assert.equal(notifier.active, false);
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.level, "warn");
    assert.match(String(lines[0]!.msg), /NOTIFY_SOCKET is set but \/nonexistent\/systemd-notify is not installed/);
  });

  test("the watchdog interval is half of WATCHDOG_USEC, and only for the process WATCHDOG_PID names", () => {
    const { logger } = capture();
    const interval = (env: NodeJS.ProcessEnv) => new SystemdNotifier({ env: { NOTIFY_SOCKET: "@x", ...env }, logger, pid: 4242 }).watchdogIntervalMs();
    assert.equal(interval({ WATCHDOG_USEC: "30000000" }), 15_000);
    assert.equal(interval({ WATCHDOG_USEC: "30000000", WATCHDOG_PID: "4242" }), 15_000);
    assert.equal(interval({ WATCHDOG_USEC: "30000000", WATCHDOG_PID: "1" }), undefined);
    assert.equal(interval({ WATCHDOG_USEC: "soon" }), undefined);
    assert.equal(interval({ WATCHDOG_USEC: "0" }), undefined);
    assert.equal(interval({}), undefined);
  });
});
