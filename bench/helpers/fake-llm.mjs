/**
 * Serves test/llm/fake-llm-server.ts (OpenAI and Anthropic wire formats) on
 * 127.0.0.1, port 0, answering every request with one set_output tool call.
 * Needs tsx: `node --import tsx bench/helpers/fake-llm.mjs`. Prints
 * {"baseUrl": ...} when ready; stops on SIGTERM.
 */
const { startFakeLlmServer } = await import("../../test/llm/fake-llm-server.ts");

const server = await startFakeLlmServer({
  defaultReply: { tool_calls: [{ name: "set_output", arguments: { key: "summary", value: "short" } }], usage: { input_tokens: 320, output_tokens: 12 } },
  keepRequests: false,
});
process.stdout.write(JSON.stringify({ baseUrl: server.baseUrl, pid: process.pid }) + "\n");
process.once("SIGTERM", () => void server.close());
