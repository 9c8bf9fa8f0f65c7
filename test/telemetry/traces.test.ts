// Traces of `forager run` as a real OTLP receiver sees them: both
// protocols, decoded with the official protobuf definitions or as OTLP
// JSON, the span tree, names, GenAI attributes, parent links and status.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
// OpenTelemetry's providers are process-wide and registered once: each run
// exports its traces from a process of its own, as it does for users.
import { spawnCli as runCli, tempDir } from "../helpers/cli.js";
import { OtlpReceiver, type ReceivedSpan } from "./otlp-receiver.js";

const SECRET = "tok-3f9a1c77e2d54b8a";

const TOOLS_AGENT = `
name: traced
llm:
  provider: mock
  model: mock-model-1
  responses:
    decide:
      - tool_calls:
          - { name: greet, arguments: { who: world } }
          - { name: reveal, arguments: {} }
      - tool_calls:
          - { name: set_output, arguments: { key: answer, value: done } }
tools:
  greet:
    type: shell
    description: Says hello
    input_schema: { type: object, properties: { who: { type: string } }, required: [who] }
    command: ["echo", "hello {{ args.who }}"]
  reveal:
    type: shell
    description: Prints a token
    command: ["echo", "token=\${DEMO_API_TOKEN}"]
graph:
  output_keys: [answer]
  nodes:
    - id: decide
      type: llm
      prompt: "Greet the world"
      tools: [greet, reveal]
      output_keys: [answer]
`;

const FAILING_AGENT = `
name: broken
tools:
  nope:
    type: shell
    description: Always fails
    command: ["sh", "-c", "echo disk on fire >&2; exit 3"]
graph:
  nodes:
    - id: first
      type: function
      module: ./steps.mjs
      export: ok
      output_keys: [x]
    - id: boom
      type: tool
      tool: nope
      output_keys: [y]
  edges:
    - { from: first, to: boom }
`;

const LLM_ERROR_AGENT = `
name: refused
llm:
  provider: mock
  model: mock-model-2
  max_retries: 0
  responses:
    ask:
      - error: "upstream said no"
graph:
  nodes:
    - id: ask
      type: llm
      prompt: "Anything"
      output_keys: [answer]
`;

let dir: { path: string; cleanup: () => Promise<void> };
const receiver = new OtlpReceiver();

before(async () => {
  dir = await tempDir("forager-otel-");
  await writeFile(join(dir.path, "traced.yaml"), TOOLS_AGENT);
  await writeFile(join(dir.path, "broken.yaml"), FAILING_AGENT);
  await writeFile(join(dir.path, "refused.yaml"), LLM_ERROR_AGENT);
  await writeFile(join(dir.path, "steps.mjs"), "export function ok() { return { x: 1 }; }\n");
  await receiver.start();
});
after(async () => {
  await receiver.stop();
  await dir.cleanup();
});

function otelEnv(protocol: string, extra: Record<string, string> = {}): Record<string, string> {
  return { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: protocol, OTEL_SERVICE_NAME: "forager-test", ...extra };
}

/** The spans of the trace whose root is the execution with this id. */
function traceOf(executionId: string): ReceivedSpan[] {
  const root = receiver.spans.find((s) => s.attributes["forager.execution_id"] === executionId && s.name.startsWith("forager.execution "));
  assert.ok(root, `a root span for ${executionId} arrived (got ${receiver.spans.map((s) => s.name).join(", ") || "none"})`);
  return receiver.spans.filter((s) => s.traceId === root.traceId);
}

function one(spans: ReceivedSpan[], name: string): ReceivedSpan {
  const found = spans.filter((s) => s.name === name);
  assert.equal(found.length, 1, `exactly one span "${name}" (spans: ${spans.map((s) => s.name).join(", ")})`);
  return found[0]!;
}

const OK = 1;
const ERROR = 2;
const CLIENT = 3;

describe("forager run exports one trace per execution", () => {
  test("http/protobuf: an llm node calling two tools, content captured, secrets scrubbed", async () => {
    const run = await runCli(["run", join(dir.path, "traced.yaml"), "--json", "--storage", join(dir.path, "s1")], {
      env: otelEnv("http/protobuf", { DEMO_API_TOKEN: SECRET, FORAGER_OTEL_CAPTURE_CONTENT: "true" }),
    });
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout);
    // run flushed before it exited: the spans are here without waiting.
    const spans = traceOf(result.execution_id);
    assert.ok(spans.every((s) => s.encoding === "protobuf"));
    assert.ok(receiver.requests.some((r) => r.path === "/v1/traces" && r.contentType === "application/x-protobuf"));

    const root = one(spans, "forager.execution traced/default");
    assert.equal(root.parentSpanId, "", "the root has no parent without a traceparent");
    assert.equal(root.status.code, OK);
    assert.equal(root.attributes["forager.session_id"], result.session_id);
    assert.equal(root.attributes["forager.status"], "completed");
    assert.equal(root.resource["service.name"], "forager-test");

    const node = one(spans, "forager.node decide");
    assert.equal(node.parentSpanId, root.spanId);
    assert.equal(node.attributes["forager.node.type"], "llm");
    assert.equal(node.status.code, OK);

    const chats = spans.filter((s) => s.name === "chat mock-model-1");
    assert.equal(chats.length, 2, "one span per LLM call");
    for (const chat of chats) {
      assert.equal(chat.parentSpanId, node.spanId);
      assert.equal(chat.kind, CLIENT);
      assert.equal(chat.attributes["gen_ai.operation.name"], "chat");
      assert.equal(chat.attributes["gen_ai.request.model"], "mock-model-1");
      assert.equal(chat.attributes["gen_ai.provider.name"], "mock");
      assert.equal(typeof chat.attributes["gen_ai.usage.input_tokens"], "number");
      assert.equal(typeof chat.attributes["gen_ai.usage.output_tokens"], "number");
      assert.ok(chat.endMs >= chat.startMs && chat.startMs >= node.startMs && chat.endMs <= node.endMs, "the call lies within its node");
    }
    const firstChat = chats.find((c) => c.attributes["forager.llm.turn"] === 1)!;
    assert.match(String(firstChat.attributes["gen_ai.output.messages"]), /"name":"greet"/);
    assert.match(String(firstChat.attributes["gen_ai.input.messages"]), /Greet the world/, "the prompt is captured");
    const secondChat = chats.find((c) => c.attributes["forager.llm.turn"] === 2)!;
    assert.match(String(secondChat.attributes["gen_ai.input.messages"]), /"role":"tool"/, "the second call's prompt holds the tool results");

    const greet = one(spans, "execute_tool greet");
    const reveal = one(spans, "execute_tool reveal");
    for (const tool of [greet, reveal]) {
      assert.equal(tool.parentSpanId, node.spanId);
      assert.equal(tool.attributes["gen_ai.operation.name"], "execute_tool");
      assert.match(String(tool.attributes["gen_ai.tool.call.id"]), /^call_\d+$/);
      assert.equal(tool.status.code, OK);
      assert.ok(tool.startMs >= firstChat.endMs, "tools run after the call that asked for them");
    }
    assert.equal(greet.attributes["gen_ai.tool.name"], "greet");
    assert.equal(greet.attributes["gen_ai.tool.call.arguments"], JSON.stringify({ who: "world" }));
    assert.match(String(greet.attributes["gen_ai.tool.call.result"]), /hello world/);
    assert.match(String(reveal.attributes["gen_ai.tool.call.result"]), /REDACTED/);

    const everything = JSON.stringify(spans);
    assert.ok(!everything.includes(SECRET), "no secret in any attribute");
  });

  test("http/json: a failed run is an ERROR trace; no content without FORAGER_OTEL_CAPTURE_CONTENT", async () => {
    const run = await runCli(["run", join(dir.path, "broken.yaml"), "--json", "--storage", join(dir.path, "s2")], { env: otelEnv("http/json") });
    assert.equal(run.code, 1, run.stderr);
    const result = JSON.parse(run.stdout);
    const spans = traceOf(result.execution_id);
    assert.ok(spans.every((s) => s.encoding === "json"));
    assert.ok(receiver.requests.some((r) => r.path === "/v1/traces" && r.contentType === "application/json"));

    const root = one(spans, "forager.execution broken/default");
    assert.equal(root.status.code, ERROR);
    assert.match(root.status.message, /^failed: .*disk on fire/);
    assert.equal(root.attributes["error.type"], result.error.code);
    assert.equal(root.attributes["forager.error.node_id"], "boom");

    const first = one(spans, "forager.node first");
    const boom = one(spans, "forager.node boom");
    assert.equal(first.parentSpanId, root.spanId);
    assert.equal(boom.parentSpanId, root.spanId);
    assert.equal(first.status.code, OK);
    assert.equal(boom.status.code, ERROR);
    assert.ok(boom.startMs >= first.endMs, "nodes in visiting order");
    const tool = one(spans, "execute_tool nope");
    assert.equal(tool.parentSpanId, boom.spanId);
    assert.equal(tool.status.code, ERROR);
    assert.match(tool.status.message, /disk on fire/);
    assert.equal(tool.attributes["gen_ai.tool.call.id"], undefined, "a tool node's call has no model call id");

    for (const span of spans) {
      for (const key of Object.keys(span.attributes)) {
        assert.ok(!/^gen_ai\.(input|output)\.messages$|^gen_ai\.tool\.call\.(arguments|result)$/.test(key), `${span.name} has no ${key}`);
      }
    }
  });

  test("a failed LLM call is an ERROR chat span under its node", async () => {
    const run = await runCli(["run", join(dir.path, "refused.yaml"), "--json", "--storage", join(dir.path, "s4")], { env: otelEnv("http/protobuf") });
    assert.equal(run.code, 1, run.stderr);
    const result = JSON.parse(run.stdout);
    const spans = traceOf(result.execution_id);
    const node = one(spans, "forager.node ask");
    assert.equal(node.status.code, ERROR);
    const chat = one(spans, "chat mock-model-2");
    assert.equal(chat.parentSpanId, node.spanId);
    assert.equal(chat.status.code, ERROR);
    assert.match(chat.status.message, /upstream said no/);
    assert.equal(chat.attributes["gen_ai.provider.name"], "mock");
    assert.equal(chat.attributes["gen_ai.input.messages"], undefined, "no prompt without FORAGER_OTEL_CAPTURE_CONTENT");
  });

  test("TRACEPARENT in the environment becomes the parent of the run's root span", async () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const parent = "00f067aa0ba902b7";
    const run = await runCli(["run", join(dir.path, "broken.yaml"), "--json", "--storage", join(dir.path, "s3")], {
      env: otelEnv("http/protobuf", { TRACEPARENT: `00-${traceId}-${parent}-01` }),
    });
    const result = JSON.parse(run.stdout);
    const root = one(traceOf(result.execution_id), "forager.execution broken/default");
    assert.equal(root.traceId, traceId);
    assert.equal(root.parentSpanId, parent);
  });
});
