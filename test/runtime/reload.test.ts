import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Agent } from "../../src/config/schema.js";
import type { ForagerEvent } from "../../src/events/types.js";
import { AgentRuntime } from "../../src/runtime/agent-runtime.js";
import { TriggerError } from "../../src/runtime/types.js";
import type { ToolResolver } from "../../src/tools/types.js";
import { FakeClock } from "../../src/util/clock.js";
import { fakeExecutor, plainAgent } from "./helpers.js";

const MIN = 60_000;
const T0 = Date.parse("2026-06-01T10:00:00Z");
const iso = (ms: number) => new Date(ms).toISOString();

/** A tool resolver factory that counts what it built and closed. */
function countingTools() {
  const built: Agent[] = [];
  const closed: Agent[] = [];
  const factory = (agent: Agent): ToolResolver => {
    built.push(agent);
    return {
      get: async (name) => {
        throw new Error(`no tool ${name}`);
      },
      resolve: async () => [],
      close: async () => void closed.push(agent),
    };
  };
  return { factory, built, closed };
}

const api = (extra: Record<string, unknown> = {}) => ({ id: "api", trigger_type: "api", ...extra });
const timer = (minutes: number) => ({ id: "tick", trigger_type: "timer", trigger_config: { interval_minutes: minutes } });

async function setup(agents: Agent[], runMs: number) {
  const clock = new FakeClock(T0);
  const fake = fakeExecutor(runMs, clock);
  const tools = countingTools();
  const runtime = new AgentRuntime({ agents, clock, execute: fake.execute, tools: tools.factory });
  const events: ForagerEvent[] = [];
  runtime.subscribe((e) => void events.push(e));
  await runtime.start();
  const settle = async () => {
    await clock.advance(0);
    await runtime.bus.drain();
  };
  return { clock, fake, tools, runtime, events, settle };
}

describe("AgentRuntime.reload", () => {
  test("a changed timer interval takes effect from the reload, an added entry point takes work, a removed one stops", async () => {
    const t = await setup([plainAgent("ops", [api(), timer(5), { id: "old", trigger_type: "api" }])], 1000);
    await t.clock.advance(5 * MIN);
    await t.settle();
    assert.equal((await t.runtime.getStats()).timers["ops/tick"]!.fired, 1);

    const summary = t.runtime.reload([plainAgent("ops", [api(), timer(2), { id: "new", trigger_type: "api" }])]);
    assert.deepEqual(summary, {
      agents: { added: [], removed: [], changed: ["ops"], unchanged: [] },
      entry_points: { added: ["ops/new"], removed: ["ops/old"], changed: ["ops/tick"], unchanged: ["ops/api"] },
    });
    const reloadedAt = T0 + 5 * MIN;
    assert.equal((await t.runtime.getStats()).timers["ops/tick"]!.next_run_at, iso(reloadedAt + 2 * MIN));
    await t.clock.advance(4 * MIN);
    await t.settle();
    const fired = t.events.filter((e) => e.type === "timer_fired").map((e) => e.data.scheduled_at);
    assert.deepEqual(fired, [iso(T0 + 5 * MIN), iso(reloadedAt + 2 * MIN), iso(reloadedAt + 4 * MIN)]);
    assert.equal((await t.runtime.getStats()).timers["ops/tick"]!.fired, 3, "counters carry over a reload");

    assert.match(await t.runtime.trigger("new"), /.+/);
    await assert.rejects(t.runtime.trigger("old"), (err: unknown) => err instanceof TriggerError && err.kind === "not_found");
    assert.equal((await t.runtime.getStats()).streams["ops/old"], undefined);
    assert.ok(t.events.some((e) => e.type === "stream_stopped" && e.stream_id === "old"));
    assert.ok(t.events.some((e) => e.type === "stream_started" && e.stream_id === "new"));
    await t.runtime.stop({ graceMs: 0 });
  });

  test("executions running or queued across a reload finish on the definition they were accepted with; never two at once", async () => {
    const first = plainAgent("solo", [api({ max_concurrent: 1, overlap: "queue" })]);
    const t = await setup([first], 10 * MIN);
    const running = await t.runtime.trigger("api", { n: 1 });
    const queued = await t.runtime.trigger("api", { n: 2 });
    await t.settle();
    assert.equal(t.fake.running, 1);

    const second = plainAgent("solo", [api({ max_concurrent: 1, overlap: "queue", limits: { max_tool_calls: 7 } })]);
    t.runtime.reload([second]);
    const after = await t.runtime.trigger("api", { n: 3 });
    await t.settle();
    assert.equal(t.fake.running, 1, "the reload did not open a second slot beside the running execution");

    await t.clock.advance(30 * MIN);
    await t.settle();
    for (const id of [running, queued, after]) assert.equal((await t.runtime.getExecution(id))?.status, "completed");
    const byId = new Map(t.fake.started.map((o) => [o.executionId, o]));
    assert.equal(byId.get(running)!.agent, first);
    assert.equal(byId.get(queued)!.agent, first, "a queued execution keeps the definition it was accepted with");
    assert.equal(byId.get(queued)!.entryPoint.limits?.max_tool_calls, undefined);
    assert.equal(byId.get(after)!.agent, second);
    assert.equal(byId.get(after)!.entryPoint.limits?.max_tool_calls, 7);
    assert.equal(t.fake.maxRunning, 1);
    await t.runtime.stop({ graceMs: 0 });
  });

  test("a replaced definition's tools are closed once its executions are done; an unchanged agent keeps its own", async () => {
    const keep = plainAgent("keep", [api()]);
    const swap = plainAgent("swap", [api()]);
    const t = await setup([keep, swap], 10 * MIN);
    await t.runtime.trigger("api", {}, { agent: "keep" });
    const old = await t.runtime.trigger("api", {}, { agent: "swap" });
    await t.settle();
    const summary = t.runtime.reload([plainAgent("keep", [api()]), plainAgent("swap", [api({ name: "renamed" })])]);
    assert.deepEqual(summary.agents, { added: [], removed: [], changed: ["swap"], unchanged: ["keep"] });
    await t.settle();
    assert.deepEqual(t.tools.closed, [], "nothing is closed while the old definition still runs");
    await t.clock.advance(10 * MIN);
    await t.settle();
    assert.equal((await t.runtime.getExecution(old))?.status, "completed");
    assert.deepEqual(t.tools.closed, [swap]);
    await t.runtime.trigger("api", {}, { agent: "keep" });
    await t.settle();
    assert.equal(t.tools.built.filter((a) => a.name === "keep").length, 1, "an unchanged agent's resolver is reused");
    await t.runtime.stop({ graceMs: 0 });
  });

  test("added and removed agents; an invalid set of definitions changes nothing", async () => {
    const t = await setup([plainAgent("a", [api()])], 1000);
    assert.throws(() => t.runtime.reload([plainAgent("b", [api()]), plainAgent("b", [api()])]), /agent names must be unique/);
    assert.deepEqual(t.runtime.agentNames(), ["a"]);
    const summary = t.runtime.reload([plainAgent("b", [api()])]);
    assert.deepEqual(summary.agents, { added: ["b"], removed: ["a"], changed: [], unchanged: [] });
    assert.deepEqual(summary.entry_points.removed, ["a/api"]);
    assert.deepEqual(t.runtime.agentNames(), ["b"]);
    await assert.rejects(t.runtime.trigger("api", {}, { agent: "a" }), /no agent named "a"/);
    assert.match(await t.runtime.trigger("api"), /.+/);
    await t.runtime.stop({ graceMs: 0 });
    assert.throws(() => t.runtime.reload([plainAgent("b", [api()])]), /cannot reload: the runtime is stopped/);
  });
});
