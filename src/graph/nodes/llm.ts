/**
 * `type: llm` (Hive's event_loop): a conversation with the model in which
 * it may call the node's tools and must call `set_output` for every
 * required output key. Every way out of the loop is bounded: the node
 * finishes, fails with a clear error, or is stopped by a limit.
 */
import type { LlmNode } from "../../config/schema.js";
import { errorMessage } from "../../errors.js";
import { renderTemplate } from "../../expr/index.js";
import type { ChatMessage, LlmRequest, LlmResponse, ToolCall, ToolSpec } from "../../llm/types.js";
import type { Tool } from "../../tools/types.js";
import { throwIfAborted } from "../../util/abort.js";
import { isPlainObject } from "../../util/json.js";
import { ExecutionHalt, NodeFailure } from "../errors.js";
import { isUnset, requiredKeys, writeOutput } from "../outputs.js";
import { asText, preview } from "../preview.js";
import type { NodeContext, NodeResult } from "./context.js";
import { defaultPrompt, findTool, reminderMessage, SET_OUTPUT, setOutputSpec, StallDetector } from "./llm-support.js";
import { invokeTool } from "./tool-call.js";

/** Characters of a turn's text kept in `llm_turn_complete`. */
const TURN_TEXT_PREVIEW = 2000;

export async function runLlmNode(ctx: NodeContext<LlmNode>): Promise<NodeResult> {
  const { run, node, signal } = ctx;
  const llm = ctx.services.llm;
  if (!llm) {
    throw new NodeFailure("is an llm node but no LLM provider is configured: add an `llm:` section to the agent file");
  }
  const messages = buildConversation(ctx);
  const tools = await resolveTools(ctx);
  const specs: ToolSpec[] = tools.map((tool) => ({ name: tool.exposedName, description: tool.description, input_schema: tool.inputSchema }));
  if (node.output_keys.length > 0) specs.push(setOutputSpec(node));

  const required = requiredKeys(node);
  const setKeys = new Set<string>();
  const missing = () => required.filter((key) => !setKeys.has(key));
  const stalls = new StallDetector();
  const config = run.agent.llm;
  let reminded = false;

  for (let turn = 1; ; turn++) {
    if (turn > node.max_iterations) {
      const left = missing();
      throw new NodeFailure(
        `reached max_iterations (${node.max_iterations}) without finishing` + (left.length > 0 ? `; missing output keys: ${left.join(", ")}` : ""),
      );
    }
    const breach = run.budget.startLlmCall();
    if (breach) run.exceed(breach, node.id);
    const request: LlmRequest = { node_id: node.id, turn, execution_id: run.executionId, messages: [...messages], tools: specs };
    const model = node.model ?? config?.model;
    if (model !== undefined) request.model = model;
    if (config?.temperature !== undefined) request.temperature = config.temperature;
    if (config?.max_tokens !== undefined) request.max_tokens = config.max_tokens;

    let response: LlmResponse;
    const calledAt = run.clock.now();
    try {
      response = await llm.complete(request, signal);
    } catch (err) {
      if (signal.aborted) throw err;
      throw new NodeFailure(`LLM call failed (${llm.name}): ${errorMessage(err)}`, "node_failed", { cause: err });
    }
    throwIfAborted(signal);
    const text = response.text ?? "";
    const calls = (response.tool_calls ?? []).map(normaliseCall);
    const tokenBreach = run.budget.recordTokens(response.usage);
    run.emit(
      "llm_turn_complete",
      {
        turn,
        text: preview(text, TURN_TEXT_PREVIEW),
        tool_calls: calls.map((call) => call.name),
        usage: { input_tokens: response.usage?.input_tokens ?? 0, output_tokens: response.usage?.output_tokens ?? 0 },
        ...(response.model ? { model: response.model } : {}),
        ...(response.finish_reason ? { finish_reason: response.finish_reason } : {}),
        // What a trace's LLM span needs: the call's duration, the provider and the model asked for.
        provider: llm.name,
        ...(model !== undefined ? { request_model: model } : {}),
        duration_ms: run.clock.now() - calledAt,
      },
      node.id,
    );
    if (tokenBreach) run.exceed(tokenBreach, node.id);
    messages.push(calls.length > 0 ? { role: "assistant", content: text, tool_calls: calls } : { role: "assistant", content: text });

    const stall = stalls.observe(text, calls);
    if (stall) {
      run.emit("node_stalled", { reason: stall.reason, detail: stall.detail, turn }, node.id);
      throw new NodeFailure(`stalled: ${stall.detail}`, "node_stalled");
    }

    if (calls.length === 0) {
      if (node.text_output && node.output_keys.length === 1 && text.trim() !== "") {
        const key = node.output_keys[0]!;
        await writeOutput(run, node, key, text);
        setKeys.add(key);
        return { written: [...setKeys] };
      }
      const left = missing();
      if (left.length === 0) return { written: [...setKeys] };
      if (!reminded) {
        reminded = true;
        messages.push({ role: "user", content: reminderMessage(left) });
        continue;
      }
      throw new NodeFailure(`the model answered without calling ${SET_OUTPUT} twice; missing: ${left.join(", ")}`, "output_missing");
    }

    for (const call of calls) {
      messages.push(await handleToolCall(ctx, tools, call, setKeys));
    }
    if (missing().length === 0) return { written: [...setKeys] };
  }
}

function buildConversation(ctx: NodeContext<LlmNode>): ChatMessage[] {
  const { node, scope } = ctx;
  const messages: ChatMessage[] = [];
  if (node.system_prompt !== undefined) {
    messages.push({ role: "system", content: render(node.system_prompt, "system_prompt", ctx) });
  }
  const user = node.prompt !== undefined ? render(node.prompt, "prompt", ctx) : defaultPrompt(node, scope.memory);
  messages.push({ role: "user", content: user });
  return messages;
}

function render(template: string, field: string, ctx: NodeContext<LlmNode>): string {
  try {
    return asText(renderTemplate(template, ctx.scope));
  } catch (err) {
    throw new NodeFailure(`${field}: ${errorMessage(err)}`, "node_failed", { cause: err });
  }
}

async function resolveTools(ctx: NodeContext<LlmNode>): Promise<Tool[]> {
  if (ctx.node.tools.length === 0) return [];
  try {
    return await ctx.services.tools.resolve(ctx.node.tools, ctx.signal);
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    throw new NodeFailure(`could not resolve its tools (${ctx.node.tools.join(", ")}): ${errorMessage(err)}`, "node_failed", { cause: err });
  }
}

function normaliseCall(call: ToolCall, index: number): ToolCall {
  return {
    id: call.id || `call_${index + 1}`,
    name: call.name,
    arguments: isPlainObject(call.arguments) ? call.arguments : {},
  };
}

type ToolMessage = Extract<ChatMessage, { role: "tool" }>;

/** Runs one tool call of the model; errors become tool messages, never node failures (the model may recover). */
async function handleToolCall(ctx: NodeContext<LlmNode>, tools: readonly Tool[], call: ToolCall, setKeys: Set<string>): Promise<ToolMessage> {
  const reply = (content: string, isError = false): ToolMessage =>
    isError ? { role: "tool", tool_call_id: call.id, name: call.name, content, is_error: true } : { role: "tool", tool_call_id: call.id, name: call.name, content };
  const { node, signal } = ctx;
  throwIfAborted(signal);

  if (call.name === SET_OUTPUT) {
    const { key, value } = call.arguments;
    if (typeof key !== "string" || !node.output_keys.includes(key)) {
      const allowed = node.output_keys.length > 0 ? node.output_keys.join(", ") : "none";
      return reply(`error: ${SET_OUTPUT}: unknown key ${JSON.stringify(key ?? null)}; the output keys of this step are: ${allowed}`, true);
    }
    if (!("value" in call.arguments)) return reply(`error: ${SET_OUTPUT}: missing "value" for key "${key}"`, true);
    if (isUnset(value) && !node.nullable_output_keys.includes(key)) {
      return reply(`error: ${SET_OUTPUT}: key "${key}" needs a value (it is not nullable)`, true);
    }
    // A refused write (undeclared key, state under isolation) fails the node: it is the agent file's problem, not the model's.
    await writeOutput(ctx.run, node, key, value);
    setKeys.add(key);
    return reply(`ok: ${key} set`);
  }

  const tool = findTool(tools, call.name);
  if (!tool) {
    const available = [...tools.map((t) => t.exposedName), ...(node.output_keys.length > 0 ? [SET_OUTPUT] : [])];
    return reply(`error: unknown tool "${call.name}"; available tools: ${available.join(", ") || "none"}`, true);
  }
  try {
    const result = await invokeTool(ctx, tool, call.arguments, call.id);
    return reply(asText(result));
  } catch (err) {
    if (signal.aborted || err instanceof ExecutionHalt) throw err;
    return reply(`error: ${errorMessage(err)}`, true);
  }
}
