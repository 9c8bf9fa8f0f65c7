/**
 * Benchmark (not part of the test suite): the cost forager's openai provider
 * adds to one LLM turn, against a raw fetch of the same request to the same
 * local fake server. Run: node --import tsx test/llm/bench-provider-overhead.ts [calls]
 */
import { createLlmProvider } from "../../src/llm/index.js";
import type { LlmRequest } from "../../src/llm/types.js";
import { startFakeLlmServer } from "./fake-llm-server.js";

const calls = Number(process.argv[2] ?? 200);
const warmup = 30;

const server = await startFakeLlmServer({
  defaultReply: { tool_calls: [{ name: "set_output", arguments: { key: "summary", value: "short" } }] },
  keepRequests: false,
});
const request: LlmRequest = {
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
  base_url: server.baseUrl,
  api_key: "sk-bench-000000",
  temperature: 0,
  max_tokens: 256,
  timeout_seconds: 30,
  max_retries: 0,
});
// The same wire request the provider sends, built by hand.
const rawBody = JSON.stringify({
  model: "bench-model",
  max_tokens: 256,
  temperature: 0,
  messages: request.messages,
  tools: request.tools.map((t) => ({ type: "function", function: { name: t.name, description: t.description, parameters: t.input_schema } })),
  tool_choice: "auto",
});
async function rawCall(): Promise<void> {
  const res = await fetch(`${server.baseUrl}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer sk-bench-000000" },
    body: rawBody,
  });
  const json = (await res.json()) as { choices: Array<{ message: { tool_calls: Array<{ function: { arguments: string } }> } }> };
  JSON.parse(json.choices[0]!.message.tool_calls[0]!.function.arguments);
}
async function providerCall(): Promise<void> {
  await llm.complete(request, new AbortController().signal);
}

async function measure(fn: () => Promise<void>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < calls; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b);
}
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;

for (let i = 0; i < warmup; i++) {
  await rawCall();
  await providerCall();
}
// Two rounds per side, raw first: the provider side gets no warm-cache advantage.
const raw = [...(await measure(rawCall)), ...(await measure(rawCall))].sort((a, b) => a - b);
const provider = [...(await measure(providerCall)), ...(await measure(providerCall))].sort((a, b) => a - b);
const fmt = (n: number) => n.toFixed(3);
console.log(`calls per side: ${raw.length} (after ${warmup} warm-up)`);
console.log(`raw fetch      median ${fmt(pct(raw, 50))} ms  p90 ${fmt(pct(raw, 90))} ms`);
console.log(`forager openai median ${fmt(pct(provider, 50))} ms  p90 ${fmt(pct(provider, 90))} ms`);
console.log(`median overhead per turn: ${fmt(pct(provider, 50) - pct(raw, 50))} ms`);
await llm.close?.();
await server.close();
