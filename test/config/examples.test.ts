import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { Validator } from "@cfworker/json-schema";
import { formatIssue } from "../../src/errors.js";
import { agentJsonSchema, loadAgent, renderMermaid, validateAgentFile } from "../../src/config/index.js";
import { repoRoot } from "../helpers/paths.js";

const root = repoRoot;
const agentsDir = join(root, "agents");
const exampleFiles = readdirSync(agentsDir).filter((f) => f.endsWith(".yaml") || f.endsWith(".yml")).sort();

/** Dummy values for variables a file needs without a default (API keys of real-provider examples). */
function envFor(text: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const match of text.matchAll(/(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)) env[match[1]!] = "placeholder-value";
  return env;
}

describe("example agents", () => {
  test("the examples this reference documents are present", () => {
    for (const name of ["issue-triage.yaml", "health-check.yaml", "guardian.yaml", "disk-report.yaml", "mock-research.yaml"]) {
      assert.ok(exampleFiles.includes(name), `agents/${name} is missing`);
    }
  });

  for (const file of exampleFiles) {
    test(`agents/${file} validates, and the JSON Schema accepts it`, async () => {
      const text = readFileSync(join(agentsDir, file), "utf8");
      assert.match(text.split("\n")[0]!, /^# yaml-language-server: \$schema=\.\.\/schema\/agent\.schema\.json$/);
      const outcome = await validateAgentFile(join("agents", file), { cwd: root, env: envFor(text) });
      assert.deepEqual(outcome.issues.map(formatIssue), []);
      const result = new Validator(agentJsonSchema() as never, "2020-12", false).validate(parse(text));
      assert.equal(result.valid, true, JSON.stringify(result.errors.slice(0, 5), null, 2));
    });
  }

  test("no example carries a secret: secret-like keys come from variables without a default", () => {
    // A default written in a public example would be accepted in production.
    const secretName = /(secret|token|password|passwd|api_?key|signing|credential)/i;
    const problems: string[] = [];
    for (const file of exampleFiles) {
      readFileSync(join(agentsDir, file), "utf8")
        .split("\n")
        .forEach((raw, i) => {
          const line = raw.replace(/(^|\s)#.*$/, "");
          for (const m of line.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*):?-([^}]*)\}/g)) {
            if (secretName.test(m[1]!)) problems.push(`agents/${file}:${i + 1}: \${${m[1]}} has a default`);
          }
          const kv = /^\s*-?\s*([A-Za-z_]+)\s*:\s*(\S.*)$/.exec(line);
          if (kv && /^(secret|secrets|token|api_key|password)$/i.test(kv[1]!) && !/^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/.test(kv[2]!.trim())) {
            problems.push(`agents/${file}:${i + 1}: ${kv[1]} is not a bare \${VARIABLE}`);
          }
        });
    }
    assert.deepEqual(problems, []);
  });

  test("the issue-triage example has what its comments promise", async () => {
    const agent = await loadAgent("agents/issue-triage.yaml", { cwd: root, env: { GITHUB_WEBHOOK_SECRET: "test-secret" } });
    assert.equal(agent.llm?.provider, "mock");
    const route = agent.runtime.webhook_routes[0]!;
    assert.equal(route.verify, "github");
    assert.ok(route.secret);
    const opened = agent.entry_points.find((ep) => ep.trigger_type === "event");
    assert.ok(opened && opened.trigger_type === "event");
    assert.deepEqual(opened.trigger_config.event_types, ["webhook_received"]);
    assert.equal(opened.trigger_config.filter_stream, "github");
    assert.ok(agent.entry_points.some((ep) => ep.trigger_type === "api"));
    assert.equal(agent.runtime.webhook_port, 8080);
  });

  test("the graph of issue-triage as Mermaid", async () => {
    const agent = await loadAgent("agents/issue-triage.yaml", { cwd: root, env: { GITHUB_WEBHOOK_SECRET: "test-secret" } });
    assert.equal(
      renderMermaid(agent),
      [
        "flowchart TD",
        '  ep0_opened(["opened<br/><small>event</small>"])',
        '  ep1_api(["api<br/><small>api</small>"])',
        '  n0_classify("classify<br/><small>llm</small>")',
        '  n1_escalate[["escalate<br/><small>tool: alert</small>"]]',
        "  ep0_opened -.-> n0_classify",
        "  ep1_api -.-> n0_classify",
        '  n0_classify -->|"when memory.severity == #quot;high#quot;, priority 10"| n1_escalate',
        "  classDef entry fill:#eef,stroke:#88a",
        "  class ep0_opened,ep1_api entry",
        "",
      ].join("\n"),
    );
  });
});

describe("schema/agent.schema.json", () => {
  test("is the current output of `forager schema`", () => {
    const committed = readFileSync(join(root, "schema", "agent.schema.json"), "utf8");
    const current = `${JSON.stringify(agentJsonSchema(), null, 2)}\n`;
    assert.ok(committed === current, "schema/agent.schema.json is stale: regenerate it with `node bin/forager.js schema > schema/agent.schema.json`");
  });

  test("describes the file: strict keys, defaults, and no required trigger_type for manual entry points", () => {
    const schema = agentJsonSchema() as { $id: string; required: string[]; additionalProperties: boolean };
    assert.equal(schema.$id, "urn:forager:schema:agent");
    assert.deepEqual(schema.required.sort(), ["graph", "name"]);
    assert.equal(schema.additionalProperties, false);
    const validator = new Validator(schema as never, "2020-12", false);
    const minimal = { name: "x", graph: { nodes: [{ id: "a", type: "tool", tool: "t" }] }, entry_points: [{ id: "e" }] };
    assert.equal(validator.validate(minimal).valid, true);
    assert.equal(validator.validate({ ...minimal, grpah: 1 }).valid, false);
  });
});
