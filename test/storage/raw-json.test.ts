import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import type { ForagerEvent } from "../../src/events/types.js";
import { FileIngestLog, ingestLogPath } from "../../src/storage/ingest-log.js";
import { eventJsonLine, forgetJsonText, rememberJsonText } from "../../src/storage/raw-json.js";
import { withTempDir } from "./helpers.js";

function webhookEvent(payload: unknown, extra: Record<string, unknown> = {}): ForagerEvent {
  return {
    id: "evt_1",
    type: "webhook_received",
    timestamp: "2026-11-23T10:00:00.000Z",
    graph_id: null,
    stream_id: "github",
    execution_id: null,
    session_id: null,
    node_id: null,
    correlation_id: null,
    data: { source_id: "github", headers: { "x-github-delivery": "d1" }, delivery_id: "d1", payload },
    ...extra,
  } as ForagerEvent;
}

function parsed(text: string): unknown {
  const value = JSON.parse(text) as unknown;
  rememberJsonText(value, text);
  return value;
}

test("a remembered payload is written as the text it came from, and the line parses to the same event", () => {
  // Spacing and key order as the sender wrote them, which JSON.stringify would not reproduce.
  const body = '{ "b": 1,  "a": [1, 2, {"x": "y\\u00e9"}], "n": 1.50 }';
  const event = webhookEvent(parsed(body));
  const line = eventJsonLine(event);
  assert.ok(line.includes(`"payload":${body}}}`), line);
  assert.deepEqual(JSON.parse(line), JSON.parse(JSON.stringify(event)));
});

test("a payload without remembered text, or whose text spans lines, is serialised as usual", () => {
  const plain = webhookEvent({ a: 1 });
  assert.equal(eventJsonLine(plain), JSON.stringify(plain));
  const multiLine = webhookEvent(parsed('{\n  "a": 1\n}'));
  const line = eventJsonLine(multiLine);
  assert.equal(line, JSON.stringify(multiLine));
  assert.ok(!line.includes("\n"));
});

test("the text is spliced only where the payload ends the line", () => {
  const body = '{"a":  1}';
  // A member after `data`: the payload is not at the end, so the event is serialised whole.
  const trailing = webhookEvent(parsed(body), { extra: { payload: null } });
  assert.equal(eventJsonLine(trailing), JSON.stringify(trailing));
  // A member after `payload` inside data: the same.
  const event = webhookEvent(parsed(body));
  (event.data as Record<string, unknown>).after = 1;
  assert.equal(eventJsonLine(event), JSON.stringify(event));
  // A payload that is a string or number is never remembered.
  const scalar = webhookEvent(parsed('"text"'));
  assert.equal(eventJsonLine(scalar), JSON.stringify(scalar));
});

test("the file ingest log writes a webhook body as received, one line per event", () =>
  withTempDir(async (dir) => {
    const log = new FileIngestLog(dir);
    const bodies = ['{"action":"opened",  "n": 1}', '{"action":"closed","n":2}'];
    await Promise.all(bodies.map((body, i) => log.append({ ...webhookEvent(parsed(body)), id: `evt_${i}` })));
    await log.close();
    const lines = (await readFile(ingestLogPath(dir, "github", "2026-11-23T10:00:00.000Z"), "utf8")).split("\n");
    assert.equal(lines.pop(), "");
    assert.equal(lines.length, 2);
    assert.deepEqual(
      lines.map((line) => (JSON.parse(line) as ForagerEvent).data.payload),
      bodies.map((body) => JSON.parse(body) as unknown),
    );
    assert.ok(lines[0]!.endsWith(`"payload":${bodies[0]}}}`));
  }));

test("the remembered text is used for one line only, then forgotten", () => {
  const body = '{"a":  1}';
  const event = webhookEvent(parsed(body));
  assert.ok(eventJsonLine(event).endsWith(`${body}}}`));
  assert.equal(eventJsonLine(event), JSON.stringify(event));
});

test("a forgotten text is not used: the value is serialised as usual", () => {
  const body = '{"a":  1}';
  const payload = parsed(body);
  forgetJsonText(payload);
  const event = webhookEvent(payload);
  assert.equal(eventJsonLine(event), JSON.stringify(event));
});
