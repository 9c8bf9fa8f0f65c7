import { describe, test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { loadAgentSource, validateAgentSource } from "../../src/config/index.js";
import type { Agent } from "../../src/config/schema.js";
import { clearSecrets, createLogger, scrubSecrets, secretCount } from "../../src/logging/index.js";
import { waitFor } from "../helpers/wait.js";

// A collector the test can run: the scope of a secret is the life of its agent.
setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;

function agentSource(i: number): string {
  return `name: agent-${i}
llm: { provider: mock, api_key: literal-key-${i}-abcdef }
runtime:
  webhook_routes:
    - { source_id: gh, path: /gh-${i}, secret: "\${HOOK_SECRET}" }
tools:
  hook: { type: emit }
  get:
    type: http
    url: http://127.0.0.1/x
    headers: { Authorization: "Bearer \${SERVICE_TOKEN}" }
graph:
  nodes:
    - { id: a, type: tool, tool: hook }
`;
}

function secretsOf(i: number): string[] {
  return [`literal-key-${i}-abcdef`, `hook-secret-${i}-abcdef`, `service-token-${i}-abcdef`];
}

/** The three values above, plus the whole Authorization header ("Bearer <token>"). */
const HELD_PER_AGENT = 4;

function loadAgent(i: number): Agent {
  const [, hook, token] = secretsOf(i);
  return loadAgentSource(agentSource(i), { path: `agent-${i}.yaml`, cwd: "/tmp", env: { HOOK_SECRET: hook, SERVICE_TOKEN: token } });
}

/** Collects until no more than `count` values are held: finalizers run after a collection, on a later task. */
async function collectUntil(count: number): Promise<void> {
  await waitFor(`at most ${count} secrets held (now ${secretCount()})`, () => {
    collectGarbage();
    return secretCount() <= count;
  });
}

beforeEach(() => clearSecrets());
afterEach(() => clearSecrets());

describe("secrets are held while their agent lives", () => {
  test("loading agents with different secrets and dropping them leaves nothing held", async () => {
    const N = 20;
    let agents: Agent[] = [];
    for (let i = 0; i < N; i++) agents.push(loadAgent(i));
    assert.equal(secretCount(), N * HELD_PER_AGENT);
    for (let i = 0; i < N; i++) {
      for (const secret of secretsOf(i)) assert.equal(scrubSecrets(`x ${secret} y`), "x [REDACTED] y", `${secret} of agent ${i}`);
    }
    assert.equal(agents.length, N);

    agents = [];
    await collectUntil(0);
    assert.equal(secretCount(), 0);
    assert.equal(scrubSecrets("x literal-key-3-abcdef y"), "x literal-key-3-abcdef y");
  });

  test("reloading the same file: dropping the old definitions keeps the secrets the new one holds", async () => {
    let current = loadAgent(1);
    for (let round = 0; round < 10; round++) current = loadAgent(1);
    assert.equal(current.name, "agent-1");
    await collectUntil(HELD_PER_AGENT);
    assert.equal(secretCount(), HELD_PER_AGENT);
    for (const secret of secretsOf(1)) assert.equal(scrubSecrets(secret), "[REDACTED]");
  });

  test("a kept agent's secrets stay redacted in logs while dropped agents' secrets are released", async () => {
    const kept = loadAgent(7);
    for (let i = 0; i < 5; i++) loadAgent(100 + i);
    await collectUntil(HELD_PER_AGENT);

    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = createLogger({ format: "json", level: "info", destination: stream, color: false });
    for (const secret of secretsOf(7)) logger.info({ detail: `calling with ${secret}` }, `sent ${secret}`);
    const text = lines.join("");
    assert.equal(lines.length, 3, text);
    for (const secret of secretsOf(7)) assert.ok(!text.includes(secret), `${secret} leaked:\n${text}`);
    assert.equal(text.split("[REDACTED]").length - 1, 6, text);
    assert.equal(kept.name, "agent-7");
  });

  test("a file that fails to load holds nothing, and its problems do not show its secrets", () => {
    const outcome = validateAgentSource(`name: bad\nllm: { provider: mock, model: "\${API_TOKEN}", temperature: "\${API_TOKEN}" }\ngraph: { nodes: [] }\n`, {
      path: "bad.yaml",
      cwd: "/tmp",
      env: { API_TOKEN: "tok-should-not-show-1" },
    });
    assert.ok(outcome.issues.length > 0);
    assert.equal(outcome.agent, undefined);
    assert.equal(secretCount(), 0);
    const text = outcome.issues.map((issue) => issue.message).join("\n");
    assert.ok(!text.includes("tok-should-not-show-1"), text);
  });
});
