import { describe, test, afterEach } from "node:test";
import assert from "node:assert/strict";
import { formatIssue } from "../../src/errors.js";
import { interpolateString, loadAgentSource, validateAgentSource } from "../../src/config/index.js";
import { clearSecrets, scrubSecrets } from "../../src/logging/index.js";

const BASE = `name: demo
tools:
  hook: { type: emit }
graph:
  nodes:
    - { id: a, type: tool, tool: hook }
`;

function load(extra: string, env: NodeJS.ProcessEnv) {
  return loadAgentSource(BASE + extra, { path: "agent.yaml", cwd: "/tmp", env });
}

afterEach(() => clearSecrets());

describe("${VAR} interpolation", () => {
  test("replaces variables and defaults; $${ stays literal", () => {
    assert.deepEqual(interpolateString("a ${X} b ${Y:-why} c $${Z}", { X: "ex" }), { text: "a ex b why c ${Z}", problems: [], placeholders: 2, unset: [], secrets: [] });
    const agent = load('description: "${GREETING:-hello} from ${USER_NAME}, cost $${price}"\n', { USER_NAME: "ana" });
    assert.equal(agent.description, "hello from ana, cost ${price}");
  });

  test("an empty variable uses the default", () => {
    assert.equal(interpolateString("${X:-fallback}", { X: "" }).text, "fallback");
  });

  test("an unset variable without default is an issue naming it, with its line and column", () => {
    const issues = validateAgentSource(`${BASE}runtime:\n  webhook_host: "\${HOST_NAME}"\n`, { path: "agent.yaml", env: {} }).issues;
    assert.deepEqual(issues.map(formatIssue), [
      "agent.yaml:8:17 runtime.webhook_host: environment variable HOST_NAME is not set (set it, or give a default: ${HOST_NAME:-value})",
    ]);
  });

  test("a malformed placeholder is an issue", () => {
    const issues = validateAgentSource(`${BASE}description: "\${not valid}"\n`, { path: "agent.yaml", env: {} }).issues;
    assert.equal(issues.length, 1);
    assert.match(issues[0]!.message, /bad placeholder "\$\{not valid\}"/);
  });

  test("a value takes the type the schema wants", () => {
    const agent = load(
      "runtime:\n  webhook_port: ${PORT:-8080}\n  control_port: \"${CONTROL_PORT}\"\n  shutdown_grace_seconds: ${GRACE}\nentry_points:\n  - id: t\n    trigger_type: timer\n    trigger_config:\n      interval_seconds: 5\n      run_immediately: ${NOW}\n",
      { CONTROL_PORT: "9001", GRACE: "2.5", NOW: "true" },
    );
    assert.equal(agent.runtime.webhook_port, 8080);
    assert.equal(agent.runtime.control_port, 9001);
    assert.equal(agent.runtime.shutdown_grace_seconds, 2.5);
    const ep = agent.entry_points[0]!;
    assert.equal(ep.trigger_type === "timer" && ep.trigger_config.run_immediately, true);
  });

  test("a number-looking value stays a string where a string is wanted", () => {
    const agent = load("llm:\n  provider: mock\n  api_key: ${API_KEY}\n  model: ${MODEL}\n", { API_KEY: "123456789", MODEL: "4" });
    assert.equal(agent.llm?.api_key, "123456789");
    assert.equal(agent.llm?.model, "4");
  });

  test("a value of the wrong kind is still an error with the value shown", () => {
    const issues = validateAgentSource(`${BASE}runtime:\n  webhook_port: \${PORT}\n`, { path: "agent.yaml", env: { PORT: "eighty" } }).issues;
    assert.deepEqual(issues.map(formatIssue), ["agent.yaml:8:17 runtime.webhook_port: expected a number; found 'eighty'"]);
  });

  test("keys are not interpolated", () => {
    const agent = loadAgentSource(BASE.replace("hook: { type: emit }", 'hook: { type: emit }\n  sh:\n    type: shell\n    command: [env]\n    env: { "${NAME}": "${NAME}" }'), {
      path: "agent.yaml",
      env: { NAME: "x" },
    });
    const sh = agent.tools.sh!;
    assert.deepEqual(sh.type === "shell" && sh.env, { "${NAME}": "x" });
  });
});

describe("secrets from the agent file never reach logs", () => {
  test("secret-named variables, api keys, webhook secrets and auth headers are registered", () => {
    load(
      `llm:\n  provider: mock\n  api_key: literal-api-key-1\nruntime:\n  webhook_routes:\n    - { source_id: gh, path: /gh, secret: "\${HOOK_SECRET}" }\n    - { source_id: s, path: /s, secrets: [rotated-one-1, rotated-two-2] }\nmcp_servers:\n  remote:\n    url: http://127.0.0.1:1/mcp\n    headers: { X-Custom: mcp-header-value-1 }\n` +
        `  plain: { command: node }\n`,
      { HOOK_SECRET: "hook-secret-value", MY_TOKEN: "unused-token" },
    );
    const line = "key literal-api-key-1 hook hook-secret-value r1 rotated-one-1 r2 rotated-two-2 mcp mcp-header-value-1";
    assert.equal(scrubSecrets(line), "key [REDACTED] hook [REDACTED] r1 [REDACTED] r2 [REDACTED] mcp [REDACTED]");
  });

  test("a value from a variable with a secret-looking name is registered; others are not", () => {
    loadAgentSource(
      `${BASE.replace("tools:\n  hook: { type: emit }\n", `tools:\n  hook: { type: emit }\n  get:\n    type: http\n    url: "http://127.0.0.1/\${PATH_PART}"\n    headers: { Authorization: "Bearer \${SERVICE_TOKEN}" }\n`)}`,
      { path: "agent.yaml", cwd: "/tmp", env: { SERVICE_TOKEN: "tok-abcdef-123", PATH_PART: "public-path" } },
    );
    assert.equal(scrubSecrets("tok-abcdef-123 public-path"), "[REDACTED] public-path");
  });
});
