import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { DefinitionError, formatIssue } from "../../src/errors.js";
import { loadAgentSource, mergeRuntimeConfig, resolveStoragePath, type Agent } from "../../src/config/index.js";

function agent(name: string, runtime = "", file = `${name}.yaml`): Agent {
  const text = `name: ${name}\ntools:\n  t: { type: emit }\ngraph:\n  nodes:\n    - { id: a, type: tool, tool: t }\n${runtime ? `runtime:\n${runtime}` : ""}`;
  return loadAgentSource(text, { path: file, cwd: "/srv/agents", env: {} });
}

function conflicts(agents: Agent[]): string[] {
  try {
    mergeRuntimeConfig(agents);
  } catch (err) {
    assert.ok(err instanceof DefinitionError);
    return err.issues.map(formatIssue);
  }
  assert.fail("expected a DefinitionError");
}

describe("mergeRuntimeConfig", () => {
  test("settings come from the file that sets them; routes are merged", () => {
    const merged = mergeRuntimeConfig([
      agent("one", "  webhook_port: 9000\n  webhook_routes:\n    - { source_id: a, path: /a, allow_unsigned: true }\n"),
      agent("two", "  storage_path: ./data\n  webhook_routes:\n    - { source_id: b, path: /b, allow_unsigned: true }\n"),
    ]);
    assert.equal(merged.webhook_port, 9000);
    assert.equal(merged.storage_path, "./data");
    assert.equal(merged.max_concurrent_executions, 100);
    assert.deepEqual(
      merged.webhook_routes.map((r) => r.path),
      ["/a", "/b"],
    );
  });

  test("the same value in two files is not a conflict", () => {
    const merged = mergeRuntimeConfig([agent("one", "  control_port: 7000\n"), agent("two", "  control_port: 7000\n")]);
    assert.equal(merged.control_port, 7000);
  });

  test("two files setting a process-wide value differently is an error at the second file's line", () => {
    const issues = conflicts([
      agent("one", "  webhook_port: 9000\n  session_retention: { max_age: 7d }\n"),
      agent("two", "  webhook_port: 9001\n  session_retention: { max_age: 1d }\n"),
    ]);
    assert.equal(issues.length, 2);
    assert.match(issues[0]!, /^two\.yaml:8:17 runtime\.webhook_port: runtime\.webhook_port is 9001 here but 9000 in \/srv\/agents\/one\.yaml/);
    assert.match(issues[1]!, /^two\.yaml:9:22 runtime\.session_retention: /);
  });

  test("two routes on one path, and two agents with one name, are errors", () => {
    const issues = conflicts([
      agent("same", "  webhook_routes:\n    - { source_id: a, path: /hook, allow_unsigned: true }\n", "a.yaml"),
      agent("same", "  webhook_routes:\n    - { source_id: b, path: /hook, allow_unsigned: true }\n", "b.yaml"),
    ]);
    assert.deepEqual(issues.length, 2);
    assert.match(issues[0]!, /^b\.yaml:1:7 name: agent name "same" is also used by \/srv\/agents\/a\.yaml/);
    assert.match(issues[1]!, /^b\.yaml:9:29 runtime\.webhook_routes\[0\]\.path: webhook path \/hook is also served by \/srv\/agents\/a\.yaml/);
  });
});

describe("resolveStoragePath", () => {
  const cwd = "/work/here";
  test("--storage wins, then FORAGER_STORAGE, then runtime.storage_path, then ./storage", () => {
    const env = { FORAGER_STORAGE: "/var/forager" };
    assert.equal(resolveStoragePath({ flag: "flag-dir", env, runtimeStoragePath: "rt", cwd }), join(cwd, "flag-dir"));
    assert.equal(resolveStoragePath({ env, runtimeStoragePath: "rt", cwd }), "/var/forager");
    assert.equal(resolveStoragePath({ env: {}, runtimeStoragePath: "./rt", cwd }), join(cwd, "rt"));
    assert.equal(resolveStoragePath({ env: {}, cwd }), join(cwd, "storage"));
  });

  test("empty values are ignored", () => {
    assert.equal(resolveStoragePath({ flag: "", env: { FORAGER_STORAGE: " " }, cwd }), join(cwd, "storage"));
  });
});
