/**
 * LLM turn overhead: one model turn through forager's openai provider
 * (dist/llm, built on the AI SDK) against a raw fetch of the same request,
 * both to the same local server speaking the OpenAI wire format
 * (test/llm/fake-llm-server.ts, run under tsx in its own process so this
 * process measures plain compiled code).
 */
import { startHelper } from "../lib/proc.mjs";
import { importDist, runScenario } from "../lib/scenario.mjs";
import { median } from "../lib/stats.mjs";

const API_KEY = "sk-bench-000000";

await runScenario("llm-turn", async (ctx) => {
  const rounds = ctx.quick ? 3 : 7;
  const turns = ctx.quick ? 30 : 200;
  const { createLlmProvider } = await importDist("llm/index.js");
  const { info } = await startHelper(ctx, "fake-llm.mjs", [], ["--import", "tsx"]);

  const request = {
    node_id: "summarize",
    turn: 1,
    messages: [
      { role: "system", content: "You summarise text. Call set_output with key summary." },
      { role: "user", content: "Summarise: " + "lorem ipsum ".repeat(100) },
    ],
    tools: [
      {
        name: "set_output",
        description: "Set an output key",
        input_schema: { type: "object", properties: { key: { type: "string" }, value: {} }, required: ["key", "value"] },
      },
    ],
  };
  const llm = await createLlmProvider({
    provider: "openai",
    model: "bench-model",
    base_url: info.baseUrl,
    api_key: API_KEY,
    temperature: 0,
    max_tokens: 256,
    timeout_seconds: 30,
    max_retries: 0,
  });
  ctx.defer(() => llm.close?.());

  // The wire request the provider sends, built by hand, and the same parsing of the answer.
  const rawBody = JSON.stringify({
    model: "bench-model",
    max_tokens: 256,
    temperature: 0,
    messages: request.messages,
    tools: request.tools.map((t) => ({ type: "function", function: { name: t.name, description: t.description, parameters: t.input_schema } })),
    tool_choice: "auto",
  });
  async function rawTurn() {
    const res = await fetch(`${info.baseUrl}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${API_KEY}` },
      body: rawBody,
    });
    const json = await res.json();
    const call = json.choices[0].message.tool_calls[0];
    if (JSON.parse(call.function.arguments).key !== "summary") throw new Error("raw fetch: unexpected answer");
  }
  async function foragerTurn() {
    const response = await llm.complete(request, new AbortController().signal);
    const call = response.tool_calls?.[0];
    if (call?.name !== "set_output") throw new Error(`provider: unexpected answer ${JSON.stringify(response).slice(0, 300)}`);
  }
  async function timed(fn) {
    const times = [];
    for (let i = 0; i < turns; i++) {
      const started = performance.now();
      await fn();
      times.push(performance.now() - started);
    }
    return median(times);
  }

  for (let i = 0; i < 20; i++) {
    await rawTurn();
    await foragerTurn();
  }
  const f = [];
  const b = [];
  for (let round = 0; round < rounds; round++) {
    // Alternate the order: neither side always runs on the warmer connection pool.
    if (round % 2 === 0) {
      b.push(await timed(rawTurn));
      f.push(await timed(foragerTurn));
    } else {
      f.push(await timed(foragerTurn));
      b.push(await timed(rawTurn));
    }
  }
  ctx.log(`${rounds} rounds of ${turns} turns per side`);
  ctx.compare({ name: "one LLM turn (openai provider, local server)", unit: "ms", forager: f, baseline: b, baselineName: "raw fetch, same request" });
  ctx.compare({ name: "LLM turn overhead (forager minus raw fetch)", unit: "ms", forager: f.map((v, i) => v - b[i]), noRatio: true });
});
