import { test, describe, afterEach } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { clearSecrets, createLogger, registerSecret, resolveLogFormat, resolveLogLevel } from "../../src/logging/index.js";

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split("\n").filter(Boolean));
      done();
    },
  });
  return { lines, stream };
}

afterEach(() => clearSecrets());

describe("log format and level", () => {
  test("LOG_FORMAT and ENV choose the format", () => {
    assert.equal(resolveLogFormat({}), "human");
    assert.equal(resolveLogFormat({ LOG_FORMAT: "json" }), "json");
    assert.equal(resolveLogFormat({ ENV: "production" }), "json");
    assert.equal(resolveLogFormat({ ENV: "production", LOG_FORMAT: "human" }), "human");
  });

  test("LOG_LEVEL sets the level, default info", () => {
    assert.equal(resolveLogLevel({}), "info");
    assert.equal(resolveLogLevel({ LOG_LEVEL: "DEBUG" }), "debug");
    assert.equal(resolveLogLevel({ LOG_LEVEL: "loud" }), "info");
  });
});

describe("json lines", () => {
  test("one object a line with time, string level, msg and context", () => {
    const { lines, stream } = capture();
    const logger = createLogger({ format: "json", level: "info", destination: stream });
    logger.child({ agent: "triage", execution_id: "exec_1" }).info({ event: "node_started", node_id: "a" }, "node started");
    logger.debug("hidden at info");
    assert.equal(lines.length, 1);
    const entry = JSON.parse(lines[0]!);
    assert.match(entry.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(entry.level, "info");
    assert.equal(entry.msg, "node started");
    assert.equal(entry.agent, "triage");
    assert.equal(entry.execution_id, "exec_1");
    assert.equal(entry.node_id, "a");
    assert.equal(entry.event, "node_started");
  });
});

describe("secrets never reach a log line", () => {
  const secret = "sk-live-9f8e7d6c5b4a";

  for (const format of ["json", "human"] as const) {
    test(`${format}: registered values and secret keys are redacted anywhere`, () => {
      const { lines, stream } = capture();
      registerSecret(secret);
      const logger = createLogger({ format, level: "info", destination: stream, color: false });
      logger.info({ headers: { authorization: "Bearer abc.def.ghi", "x-hub-signature-256": "sha256=0123abcd" } }, "request");
      logger.info({ config: { api_key: "plain-key-value-1" } }, "config");
      logger.info(`calling with ${secret} inline`);
      logger.error({ err: new Error(`failed for key ${secret}`) }, "boom");
      const text = lines.join("\n");
      assert.ok(lines.length >= 4, text);
      for (const leaked of [secret, "abc.def.ghi", "sha256=0123abcd", "plain-key-value-1"]) {
        assert.ok(!text.includes(leaked), `${leaked} leaked in ${format} output:\n${text}`);
      }
      assert.ok(text.includes("[REDACTED]"));
    });
  }
});
