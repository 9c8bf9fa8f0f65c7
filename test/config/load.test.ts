import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DefinitionError, formatIssue, type DefinitionIssue } from "../../src/errors.js";
import { agentFromObject, loadAgent, loadAgentSource, validateAgentFile, validateAgentSource } from "../../src/config/index.js";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "forager-config-"));
  await mkdir(join(dir, "lib"));
  await writeFile(join(dir, "lib", "fn.mjs"), "export default async () => ({ done: true });\n");
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const MINIMAL = `name: demo
graph:
  nodes:
    - id: first
      type: function
      module: lib/fn.mjs
      output_keys: [done]
`;

function issuesOf(text: string, env: NodeJS.ProcessEnv = {}): DefinitionIssue[] {
  return validateAgentSource(text, { path: "agent.yaml", cwd: dir, env }).issues;
}

function lines(issues: DefinitionIssue[]): string[] {
  return issues.map(formatIssue);
}

describe("loading a valid agent", () => {
  test("fills the default entry point and resolves paths", () => {
    const agent = loadAgentSource(MINIMAL, { path: "agent.yaml", cwd: dir, env: {} });
    assert.equal(agent.source_path, join(dir, "agent.yaml"));
    assert.equal(agent.base_dir, dir);
    assert.equal(agent.entry_points.length, 1);
    const ep = agent.entry_points[0]!;
    assert.equal(ep.id, "default");
    assert.equal(ep.trigger_type, "manual");
    assert.equal(ep.entry_node, "first");
    assert.equal(ep.max_concurrent, 10);
    assert.equal(ep.overlap, "queue");
    assert.equal(agent.runtime.webhook_port, 8080);
    assert.equal(agent.graph.max_steps, 50);
  });

  test("entry points: no trigger_type means manual; max_concurrent 1 means cancel_previous; entry_node from the graph", () => {
    const agent = loadAgentSource(
      `${MINIMAL}    - id: second
      type: function
      module: lib/fn.mjs
  entry_node: second
entry_points:
  - id: plain
  - id: single
    trigger_type: api
    max_concurrent: 1
  - id: explicit
    trigger_type: api
    entry_node: first
    max_concurrent: 1
    overlap: skip
`,
      { path: "agent.yaml", cwd: dir, env: {} },
    );
    const [plain, single, explicit] = agent.entry_points;
    assert.equal(plain!.trigger_type, "manual");
    assert.equal(plain!.entry_node, "second");
    assert.equal(single!.overlap, "cancel_previous");
    assert.equal(explicit!.entry_node, "first");
    assert.equal(explicit!.overlap, "skip");
  });

  test("a signed webhook route verifies GitHub style unless told otherwise", () => {
    const agent = loadAgentSource(
      `${MINIMAL}runtime:
  webhook_routes:
    - { source_id: gh, path: /gh, secret: abcdefgh }
    - { source_id: open, path: /open, allow_unsigned: true }
`,
      { path: "agent.yaml", cwd: dir, env: {} },
    );
    assert.equal(agent.runtime.webhook_routes[0]!.verify, "github");
    assert.equal(agent.runtime.webhook_routes[1]!.verify, undefined);
  });

  test("loadAgent reads the file; loadAgent on a broken file throws DefinitionError with every issue", async () => {
    await writeFile(join(dir, "ok.yaml"), MINIMAL);
    const agent = await loadAgent("ok.yaml", { cwd: dir, env: {} });
    assert.equal(agent.name, "demo");
    await writeFile(join(dir, "broken.yaml"), "name: Bad Name\ngraph:\n  nodes: []\nextra: 1\n");
    await assert.rejects(loadAgent("broken.yaml", { cwd: dir, env: {} }), (err: unknown) => {
      assert.ok(err instanceof DefinitionError);
      assert.equal(err.issues.length, 3);
      assert.deepEqual(
        err.issues.map((i) => [i.line, i.path]),
        [
          [1, "name"],
          [3, "graph.nodes"],
          [4, "extra"],
        ],
      );
      return true;
    });
  });

  test("YAML anchors and merge keys share settings between entries", () => {
    const agent = loadAgentSource(
      `name: demo\ntools:\n  t: { type: emit }\ngraph:\n  nodes:\n    - &base { id: a, type: tool, tool: t, max_retries: 2 }\n    - { <<: *base, id: b }\n`,
      { path: "agent.yaml", env: {} },
    );
    const b = agent.graph.nodes[1]!;
    assert.equal(b.id, "b");
    assert.equal(b.type === "tool" && b.tool, "t");
    assert.equal(b.max_retries, 2);
  });

  test("agentFromObject applies the same checks, without positions", () => {
    const agent = agentFromObject(
      { name: "inline", graph: { nodes: [{ id: "a", type: "tool", tool: "t" }] }, tools: { t: { type: "emit" } } },
      { env: {} },
    );
    assert.equal(agent.source_path, "<inline>");
    assert.equal(agent.entry_points[0]!.entry_node, "a");
    assert.throws(
      () => agentFromObject({ name: "inline", graph: { nodes: [{ id: "a", type: "tool", tool: "nope" }] } }, { env: {} }),
      (err: unknown) => err instanceof DefinitionError && err.issues[0]!.line === 0 && /no tool "nope"/.test(err.issues[0]!.message),
    );
  });
});

describe("schema errors", () => {
  test("an unknown key points at the key and suggests the right one", () => {
    const issues = issuesOf(`${MINIMAL}grpah_extra: 1\nruntime:\n  webhok_port: 1\n`);
    assert.deepEqual(lines(issues), [
      'agent.yaml:8:1 grpah_extra: unknown key "grpah_extra"; expected one of name, description, goal, llm, tools, mcp_servers, graph, entry_points, runtime',
      'agent.yaml:10:3 runtime.webhok_port: unknown key "webhok_port" (did you mean "webhook_port"?)',
    ]);
  });

  test("an unknown node type names the valid ones", () => {
    const issues = issuesOf("name: demo\ngraph:\n  nodes:\n    - id: a\n      type: fn\n");
    assert.deepEqual(lines(issues), ["agent.yaml:5:13 graph.nodes[0].type: expected one of llm, tool, function; found 'fn'"]);
  });

  test("unknown trigger_type and tool type read clearly", () => {
    const issues = issuesOf(
      `${MINIMAL}tools:\n  t:\n    type: shel\n    command: [ls]\nentry_points:\n  - id: e\n    trigger_type: cron\n`,
    );
    const text = lines(issues).join("\n");
    assert.match(text, /agent\.yaml:10:11 tools\.t\.type: expected one of http, shell, emit; found 'shel' \(did you mean "shell"\?\)/);
    assert.match(text, /agent\.yaml:14:19 entry_points\[0\]\.trigger_type: expected one of manual, api, timer, event; found 'cron'/);
  });

  test("wrong types and bad enum values say what was expected and found", () => {
    const issues = issuesOf(
      `${MINIMAL}      max_retries: lots\n  edges:\n    - { from: first, to: first, condition: on_sucess }\n`,
    );
    assert.deepEqual(lines(issues), [
      "agent.yaml:8:20 graph.nodes[0].max_retries: expected a number; found 'lots'",
      `agent.yaml:10:44 graph.edges[0].condition: expected one of on_success, on_failure, always; found 'on_sucess' (did you mean "on_success"?)`,
    ]);
  });

  test("a missing required key is reported on the map that lacks it", () => {
    const issues = issuesOf("name: demo\ngraph:\n  nodes:\n    - id: a\n      type: tool\n");
    assert.deepEqual(lines(issues), ['agent.yaml:4:7 graph.nodes[0].tool: missing required key "tool": expected a string']);
  });
});

describe("semantic errors", () => {
  test("every cross-reference problem is reported at once, with positions", () => {
    const text = `name: demo
llm:
  provider: openai
  responses:
    clasify: []
tools:
  notify: { type: emit }
mcp_servers:
  both: { command: node, url: "http://127.0.0.1:1/mcp" }
graph:
  entry_node: strat
  output_keys: [done, missing]
  nullable_output_keys: [other]
  nodes:
    - id: classify
      type: llm
      tools: [notfy, files.read, both.*]
      prompt: "Hello {{ input.name + }}"
      output_keys: [done]
    - id: classify
      type: tool
      tool: notifyy
    - id: run
      type: function
      module: lib/none.mjs
  edges:
    - { from: classify, to: notfy }
    - { from: classify, to: run, when: "memory.x ==" }
entry_points:
  - { id: e1, entry_node: clasify }
  - { id: e1, trigger_type: event, trigger_config: { event_types: [custom], when: "event.data ==" } }
runtime:
  webhook_routes:
    - { source_id: a, path: /a }
    - { source_id: a, path: /a, secret: abcdefgh, verify: hmac }
`;
    const got = lines(issuesOf(text));
    const expected = [
      /^agent\.yaml:5:5 llm\.responses\.clasify: no llm node "clasify" \(did you mean "classify"\?\)/,
      /^agent\.yaml:5:5 llm\.responses: responses apply to provider mock only; found provider openai$/,
      /^agent\.yaml:9:9 mcp_servers\.both: an MCP server needs exactly one of command \(stdio\) or url \(HTTP\); found both/,
      /^agent\.yaml:11:15 graph\.entry_node: no node "strat"/,
      /^agent\.yaml:12:23 graph\.output_keys\[1\]: no node writes "missing"/,
      /^agent\.yaml:13:26 graph\.nullable_output_keys\[0\]: "other" is not one of the output keys/,
      /^agent\.yaml:15:7 graph\.nodes\[0\]: provider openai needs a model/,
      /^agent\.yaml:17:15 graph\.nodes\[0\]\.tools\[0\]: no tool "notfy" in tools \(did you mean "notify"\?\)/,
      /^agent\.yaml:17:22 graph\.nodes\[0\]\.tools\[1\]: no MCP server "files" in mcp_servers/,
      /^agent\.yaml:18:15 graph\.nodes\[0\]\.prompt: template does not parse: expression `input\.name \+`/,
      /^agent\.yaml:20:11 graph\.nodes\[1\]\.id: duplicate node id "classify"/,
      /^agent\.yaml:22:13 graph\.nodes\[1\]\.tool: no tool "notifyy" in tools \(did you mean "notify"\?\)/,
      /^agent\.yaml:25:15 graph\.nodes\[2\]\.module: module file not found: .*lib\/none\.mjs/,
      /^agent\.yaml:27:29 graph\.edges\[0\]\.to: no node "notfy"$/,
      /^agent\.yaml:28:40 graph\.edges\[1\]\.when: condition does not parse/,
      /^agent\.yaml:30:27 entry_points\[0\]\.entry_node: no node "clasify" \(did you mean "classify"\?\)/,
      /^agent\.yaml:31:11 entry_points\[1\]\.id: duplicate entry point id "e1"/,
      /^agent\.yaml:31:83 entry_points\[1\]\.trigger_config\.when: condition does not parse/,
      /^agent\.yaml:34:7 runtime\.webhook_routes\[0\]: webhook route \/a has no secret/,
      /^agent\.yaml:35:20 runtime\.webhook_routes\[1\]\.source_id: duplicate source_id "a"/,
      /^agent\.yaml:35:29 runtime\.webhook_routes\[1\]\.path: duplicate route path \/a/,
      /^agent\.yaml:35:59 runtime\.webhook_routes\[1\]\.verify: verify: hmac needs header/,
    ];
    assert.equal(got.length, expected.length, got.join("\n"));
    expected.forEach((pattern, i) => assert.match(got[i]!, pattern, got.join("\n")));
  });

  test("an llm node needs an llm section", () => {
    const issues = issuesOf("name: demo\ngraph:\n  nodes:\n    - { id: a, type: llm }\n");
    assert.deepEqual(lines(issues), ["agent.yaml:4:22 graph.nodes[0].type: an llm node needs an `llm` section (provider, model) at the top of the file"]);
  });

  test("timers: exactly one schedule, cron checked by croner, IANA time zones", () => {
    const text = `${MINIMAL}entry_points:
  - { id: none, trigger_type: timer, trigger_config: {} }
  - { id: two, trigger_type: timer, trigger_config: { interval_seconds: 5, cron: "* * * * *" } }
  - { id: bad, trigger_type: timer, trigger_config: { cron: "61 * * * *" } }
  - { id: mars, trigger_type: timer, trigger_config: { cron: "0 9 * * *", timezone: Mars/Olympus } }
  - { id: seven, trigger_type: timer, trigger_config: { cron: "0 0 0 1 1 * 2030" } }
  - { id: fine, trigger_type: timer, trigger_config: { cron: "*/10 * * * * *", timezone: Europe/Berlin } }
`;
    assert.deepEqual(lines(issuesOf(text)), [
      "agent.yaml:9:54 entry_points[0].trigger_config: a timer needs one of interval_minutes, interval_seconds or cron; found none",
      "agent.yaml:10:53 entry_points[1].trigger_config: a timer needs exactly one of interval_minutes, interval_seconds or cron; found interval_seconds and cron",
      "agent.yaml:11:61 entry_points[2].trigger_config.cron: invalid cron '61 * * * *': Invalid value for minute: 61",
      "agent.yaml:12:85 entry_points[3].trigger_config.timezone: unknown time zone 'Mars/Olympus': expected an IANA name like Europe/Berlin or UTC",
      "agent.yaml:13:63 entry_points[4].trigger_config.cron: invalid cron '0 0 0 1 1 * 2030': expected 5 fields (minute hour day month weekday) or 6 (with seconds first); found 7",
    ]);
  });

  test("schema errors and cross-reference errors come together", () => {
    const issues = issuesOf(
      `name: demo\ngraph:\n  nodes:\n    - { id: a, type: fn }\n    - { id: b, type: tool, tool: t }\n  edges:\n    - { from: a, to: c }\n    - { from: b, to: a }\n`,
    );
    assert.deepEqual(lines(issues), [
      "agent.yaml:4:22 graph.nodes[0].type: expected one of llm, tool, function; found 'fn'",
      'agent.yaml:5:34 graph.nodes[1].tool: no tool "t" in tools (the file defines no tools)',
      'agent.yaml:7:22 graph.edges[0].to: no node "c"',
    ]);
  });
});

describe("reading files", () => {
  test("YAML syntax errors and duplicate keys give positions", () => {
    assert.deepEqual(lines(issuesOf("name: demo\n\tgraph: {}\n")), ["agent.yaml:2:1 tabs are not allowed as indentation; indent with spaces"]);
    const dup = lines(issuesOf(`${MINIMAL}name: again\n`));
    assert.deepEqual(dup, ['agent.yaml:8:1 duplicate key "name": each key may appear once in a map']);
    const indent = lines(issuesOf("name: demo\ngraph:\n  nodes:\n    - id: a\n   type: llm\n"));
    assert.equal(indent.length >= 1, true);
    assert.match(indent[0]!, /^agent\.yaml:5:\d+ /);
  });

  test("missing, empty, list, binary and oversized files", async () => {
    const check = async (name: string, content: Buffer | string | undefined, pattern: RegExp) => {
      if (content !== undefined) await writeFile(join(dir, name), content);
      const outcome = await validateAgentFile(name, { cwd: dir, env: {} });
      assert.equal(outcome.agent, undefined);
      assert.equal(outcome.issues.length, 1);
      assert.match(formatIssue(outcome.issues[0]!), pattern);
    };
    await check("nope.yaml", undefined, /^nope\.yaml: no such file/);
    await check("empty.yaml", "", /^empty\.yaml:1:1 the file is empty/);
    await check("comments.yaml", "# only a comment\n", /^comments\.yaml:1:1 the file is empty/);
    await check("list.yaml", "- a\n- b\n", /^list\.yaml:1:1 expected an agent definition \(a map with name and graph\); found a list$/);
    await check("binary.yaml", Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 3]), /^binary\.yaml:1:1 not a text file/);
    await check("big.yaml", Buffer.alloc(5 * 1024 * 1024, 0x61), /^big\.yaml:1:1 the file is 5\.0 MiB; agent files are limited to 1\.0 MiB$/);
  });
});

describe("the YAML parser's own warnings", () => {
  test("a collection used as a key is reported as a problem, and nothing is written to the process's warnings", async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on("warning", onWarning);
    try {
      const { issues } = validateAgentSource("name: demo\n? { memory. }\n: 1\ngraph:\n  nodes:\n    - { id: a, type: function, module: ./m.mjs }\n", { path: "agent.yaml", cwd: dir, env: {} });
      assert.ok(issues.some((i) => /unknown key "\{ memory\. \}"/.test(i.message)), JSON.stringify(issues));
      // process.emitWarning delivers on a later tick.
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setTimeout(resolve, 0));
    } finally {
      process.off("warning", onWarning);
    }
    assert.deepEqual(warnings, []);
  });
});
