// `forager run --entry <event entry point>` applies the entry point's filters to --input offline (issue: test event filters without a daemon).
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { repoRoot, runCli, tempDir } from "../helpers/cli.js";

const agent = join(repoRoot, "test/fixtures/run/event-filter.yaml");
let storage: { path: string; cleanup: () => Promise<void> };

before(async () => {
  storage = await tempDir("forager-evfilter-");
});
after(async () => {
  await storage.cleanup();
});

const opened = (action: string, stream = "github") =>
  JSON.stringify({ n: 2, event: { type: "webhook_received", stream_id: stream, data: { payload: { action } } } });

function run(entry: string, input: string, extra: string[] = []) {
  return runCli(["run", agent, "--entry", entry, "--input", input, "--storage", storage.path, ...extra]);
}

describe("run --entry <event entry point> honours its filters", () => {
  test("a matching event runs the graph", async () => {
    const r = await run("opened", opened("opened"), ["--json"]);
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout);
    assert.equal(result.status, "completed");
    assert.deepEqual(result.output, { doubled: 4 });
  });

  test("`when` false: says so, exit 0, status skipped in the JSON, nothing stored", async () => {
    const r = await run("opened", opened("closed"), ["--json"]);
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout);
    assert.equal(result.status, "skipped");
    assert.equal(result.success, false);
    assert.equal(result.execution_id, null);
    assert.equal(result.entry_point, "opened");
    assert.deepEqual(result.path, []);
    assert.match(result.reason, /when `event\.data\.payload\.action == "opened"` is false/);

    const human = await run("opened", opened("closed"));
    assert.equal(human.code, 0);
    assert.match(human.stdout, /^skipped: event-filter \(opened\) did not run: when .* is false/);

    const list = await runCli(["sessions", "list", "--json", "--storage", storage.path]);
    assert.equal(list.code, 0, list.stderr);
    assert.equal(JSON.parse(list.stdout).filter((e: { entry_point: string }) => e.entry_point === "opened").length, 1, "only the matching run is stored");
  });

  test("filter_stream, event_types, filter_graph and filter_node are checked too", async () => {
    const wrongStream = await run("opened", opened("opened", "gitlab"), ["--json"]);
    assert.equal(wrongStream.code, 0);
    assert.match(JSON.parse(wrongStream.stdout).reason, /filter_stream is "github", the event's is "gitlab"/);

    const wrongType = await run("opened", JSON.stringify({ event: { type: "timer_fired", stream_id: "github" } }), ["--json"]);
    assert.equal(JSON.parse(wrongType.stdout).status, "skipped");
    assert.match(JSON.parse(wrongType.stdout).reason, /timer_fired is not in event_types/);

    const failure = (graph: string, node: string) =>
      JSON.stringify({ n: 1, event: { type: "EXECUTION_FAILED", graph_id: graph, node_id: node } });
    const otherGraph = await run("failures", failure("billing", "critical"), ["--json"]);
    assert.match(JSON.parse(otherGraph.stdout).reason, /filter_graph is "worker"/);
    const otherNode = await run("failures", failure("worker", "minor"), ["--json"]);
    assert.match(JSON.parse(otherNode.stdout).reason, /filter_node is "critical"/);
    const match = await run("failures", failure("worker", "critical"), ["--json"]);
    assert.equal(match.code, 0, match.stderr);
    assert.equal(JSON.parse(match.stdout).status, "completed");
  });

  test("--stream-json: a skipped run is one result line", async () => {
    const r = await run("opened", opened("labeled"), ["--stream-json"]);
    assert.equal(r.code, 0);
    const lines = r.stdout.trimEnd().split("\n");
    assert.equal(lines.length, 1);
    assert.equal(JSON.parse(lines[0]!).type, "result");
    assert.equal(JSON.parse(lines[0]!).status, "skipped");
  });

  test("an event without a type, or a non-object event, is a usage error", async () => {
    const noType = await run("opened", '{"event": {"data": {}}}');
    assert.equal(noType.code, 2);
    assert.match(noType.stderr, /"event" has no "type"/);
    const notObject = await run("opened", '{"event": 3}');
    assert.equal(notObject.code, 2);
    assert.match(notObject.stderr, /"event" must be a JSON object/);
  });
});
