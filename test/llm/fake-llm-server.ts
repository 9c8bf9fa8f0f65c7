/**
 * A local HTTP server that speaks the real OpenAI chat completions and
 * Anthropic messages wire formats, for provider tests, end-to-end runs of
 * `forager run` and benchmarks. Replies are scripted per test; every request
 * received is kept so tests can check what forager sent.
 *
 *   const server = await startFakeLlmServer();
 *   server.reply({ text: "hello" }, { status: 429, headers: { "retry-after": "1" } });
 *   // provider openai:    base_url = server.baseUrl  (POST /v1/chat/completions)
 *   // provider anthropic: base_url = server.baseUrl  (POST /v1/messages)
 *   await server.close();
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface FakeToolCall {
  /** Default: call_N (OpenAI) or toolu_N (Anthropic). */
  id?: string;
  name: string;
  /** An object is sent as JSON; a string is sent as is (OpenAI only: lets a test send malformed arguments). */
  arguments: Record<string, unknown> | string;
}

export interface FakeReply {
  text?: string;
  tool_calls?: FakeToolCall[];
  usage?: { input_tokens: number; output_tokens: number };
  /** Wire value: OpenAI finish_reason or Anthropic stop_reason. Default from the content. */
  finish_reason?: string;
  /** An error reply with this HTTP status, in the endpoint's error format unless `body` is given. */
  status?: number;
  /** Error type and message for an error reply (e.g. "rate_limit_error", "context_length_exceeded"). */
  error?: { type?: string; code?: string; message: string };
  /** A raw body to send instead of the generated one (object = JSON). */
  body?: unknown;
  headers?: Record<string, string>;
  /** Wait this long before answering (the request may be aborted meanwhile). */
  delay_ms?: number;
  /** Send the status line and half of the body, then destroy the socket. */
  cut?: boolean;
}

/** What the tests read of an OpenAI chat-completions request (the published wire format). */
export interface OpenAiChatRequest {
  model: string;
  messages: Array<{
    role: "system" | "user" | "assistant" | "tool";
    content?: string | null | Array<{ type: string; text?: string }>;
    tool_calls?: Array<{ id: string; type: "function"; function: { name: string; arguments: string } }>;
    tool_call_id?: string;
  }>;
  tools?: Array<{ type: "function"; function: { name: string; description?: string; parameters: unknown } }>;
  temperature?: number;
  max_tokens?: number;
}

type AnthropicBlock =
  | { type: "text"; text: string }
  | { type: "tool_use"; id: string; name: string; input: unknown }
  | { type: "tool_result"; tool_use_id: string; content: string | Array<{ type: "text"; text: string }>; is_error?: boolean };

/** What the tests read of an Anthropic messages request (the published wire format). */
export interface AnthropicMessagesRequest {
  model: string;
  system?: string | Array<{ type: "text"; text: string }>;
  messages: Array<{ role: "user" | "assistant"; content: string | AnthropicBlock[] }>;
  tools?: Array<{ name: string; description?: string; input_schema: unknown }>;
  temperature?: number;
  max_tokens?: number;
}

/**
 * A request to the OpenAI endpoint, read as its wire format (also for the
 * fields both formats share: model, temperature, max_tokens).
 */
export const openAiBody = (r: ReceivedRequest) => r.body as OpenAiChatRequest;
/** A request to the Anthropic endpoint, read as its wire format. */
export const anthropicBody = (r: ReceivedRequest) => r.body as AnthropicMessagesRequest;

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON body (the raw text when it is not JSON): read it with `openAiBody` or `anthropicBody`. */
  body: unknown;
  /** Date.now() when the request arrived. */
  at: number;
}

export type Wire = "openai" | "anthropic";

export interface FakeLlmServer {
  /** http://127.0.0.1:PORT/v1: the base_url for either provider. */
  readonly baseUrl: string;
  readonly port: number;
  /** Every request received, in order. */
  readonly requests: ReceivedRequest[];
  /** Queues replies, answered in order across both endpoints. */
  reply(...replies: FakeReply[]): void;
  /** Scripted replies not used yet. */
  pending(): number;
  close(): Promise<void>;
}

export interface FakeLlmServerOptions {
  /** Answer used when the queue is empty (benchmarks). Without it an empty queue answers 500. */
  defaultReply?: FakeReply;
  /** Keep received requests (default true; benchmarks turn it off). */
  keepRequests?: boolean;
}

export async function startFakeLlmServer(options: FakeLlmServerOptions = {}): Promise<FakeLlmServer> {
  const queue: FakeReply[] = [];
  const requests: ReceivedRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let counter = 0;

  const server: Server = createServer((req, res) => {
    void handle(req, res).catch((err) => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
      res.end(String(err));
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    let body: unknown = raw;
    try {
      body = JSON.parse(raw);
    } catch {
      // keep the raw text: a test may want to see it
    }
    const path = (req.url ?? "/").split("?")[0]!;
    if (options.keepRequests !== false) {
      requests.push({ method: req.method ?? "", path, headers: req.headers, body, at: Date.now() });
    }
    const wire: Wire | undefined =
      req.method === "POST" && path === "/v1/chat/completions"
        ? "openai"
        : req.method === "POST" && path === "/v1/messages"
          ? "anthropic"
          : undefined;
    if (!wire) {
      sendJson(res, 404, { error: { message: `fake LLM server: no route ${req.method} ${path}` } });
      return;
    }
    const reply = queue.shift() ?? options.defaultReply;
    if (!reply) {
      sendJson(res, 500, errorBody(wire, 500, { type: "server_error", message: "fake LLM server has no scripted reply left" }));
      return;
    }
    if (reply.delay_ms) {
      const closed = await delayUnlessClosed(reply.delay_ms, res);
      if (closed) return;
    }
    const n = ++counter;
    const model = (body as { model?: string } | undefined)?.model ?? "fake-model";
    let status = reply.status ?? 200;
    let payload: unknown;
    if (reply.body !== undefined) payload = reply.body;
    else if (reply.status !== undefined && reply.status >= 400) payload = errorBody(wire, status, reply.error);
    else payload = wire === "openai" ? openaiCompletion(reply, model, n) : anthropicMessage(reply, model, n);
    const text = typeof payload === "string" ? payload : JSON.stringify(payload);
    const headers = { "content-type": "application/json", ...reply.headers };
    if (reply.cut) {
      res.writeHead(status, { ...headers, "content-length": String(Buffer.byteLength(text)) });
      res.write(text.slice(0, Math.floor(text.length / 2)));
      // Let the partial body reach the client before the connection dies.
      const timer = setTimeout(() => {
        timers.delete(timer);
        res.socket?.destroy();
      }, 20);
      timers.add(timer);
      return;
    }
    res.writeHead(status, headers);
    res.end(text);
  }

  function delayUnlessClosed(ms: number, res: ServerResponse): Promise<boolean> {
    return new Promise((resolve) => {
      const onClose = () => {
        clearTimeout(timer);
        timers.delete(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        timers.delete(timer);
        res.off("close", onClose);
        resolve(false);
      }, ms);
      timers.add(timer);
      res.once("close", onClose);
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;

  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    port,
    requests,
    reply: (...replies) => {
      queue.push(...replies);
    },
    pending: () => queue.length,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      });
      return closing;
    },
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function sendJson(res: ServerResponse, status: number, payload: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(payload));
}

function defaultErrorType(wire: Wire, status: number): string {
  if (wire === "anthropic") {
    if (status === 401) return "authentication_error";
    if (status === 400) return "invalid_request_error";
    if (status === 429) return "rate_limit_error";
    if (status === 529) return "overloaded_error";
    return "api_error";
  }
  if (status === 401) return "invalid_request_error";
  if (status === 429) return "rate_limit_exceeded";
  if (status === 400) return "invalid_request_error";
  return "server_error";
}

function errorBody(wire: Wire, status: number, error?: FakeReply["error"]): unknown {
  const type = error?.type ?? defaultErrorType(wire, status);
  const message = error?.message ?? `fake ${status} error`;
  if (wire === "anthropic") return { type: "error", error: { type, message } };
  return { error: { message, type, param: null, code: error?.code ?? null } };
}

function usageOf(reply: FakeReply): { input_tokens: number; output_tokens: number } {
  return reply.usage ?? { input_tokens: 10, output_tokens: 5 };
}

function openaiCompletion(reply: FakeReply, model: string, n: number): unknown {
  const toolCalls = (reply.tool_calls ?? []).map((call, i) => ({
    id: call.id ?? `call_${n}_${i + 1}`,
    type: "function",
    function: {
      name: call.name,
      arguments: typeof call.arguments === "string" ? call.arguments : JSON.stringify(call.arguments),
    },
  }));
  const usage = usageOf(reply);
  return {
    id: `chatcmpl-${n}`,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content: reply.text ?? (toolCalls.length ? null : ""),
          ...(toolCalls.length ? { tool_calls: toolCalls } : {}),
        },
        finish_reason: reply.finish_reason ?? (toolCalls.length ? "tool_calls" : "stop"),
      },
    ],
    usage: {
      prompt_tokens: usage.input_tokens,
      completion_tokens: usage.output_tokens,
      total_tokens: usage.input_tokens + usage.output_tokens,
    },
  };
}

function anthropicMessage(reply: FakeReply, model: string, n: number): unknown {
  const content: unknown[] = [];
  if (reply.text) content.push({ type: "text", text: reply.text });
  (reply.tool_calls ?? []).forEach((call, i) => {
    content.push({
      type: "tool_use",
      id: call.id ?? `toolu_${n}_${i + 1}`,
      name: call.name,
      input: typeof call.arguments === "string" ? parseOrKeep(call.arguments) : call.arguments,
    });
  });
  const usage = usageOf(reply);
  return {
    id: `msg_${n}`,
    type: "message",
    role: "assistant",
    model,
    content,
    stop_reason: reply.finish_reason ?? (reply.tool_calls?.length ? "tool_use" : "end_turn"),
    stop_sequence: null,
    usage: { input_tokens: usage.input_tokens, output_tokens: usage.output_tokens },
  };
}

/** Anthropic's wire carries input as JSON, so unparsable text can only arrive as a JSON string. */
function parseOrKeep(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
