/**
 * `type: http` tools: one request per call. Returns `{status, headers, body}`;
 * a status of 400 or more is a ToolError carrying that result.
 */
import type { HttpToolDef } from "../config/schema.js";
import { abortReason } from "../util/abort.js";
import { errorMessage } from "../errors.js";
import { CappedOutput } from "./output-cap.js";
import { asText, makeTool, renderField } from "./tool-base.js";
import { exposedName } from "./names.js";
import { ToolError, type Tool, type ToolContext } from "./types.js";

export interface HttpToolResult {
  status: number;
  headers: Record<string, string>;
  body: unknown;
  /** Present (true) only when the body was cut at max_output_bytes. */
  truncated?: true;
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\b|\/json\b/i;
const ERROR_BODY_PREVIEW = 300;

export function createHttpTool(name: string, def: HttpToolDef): Tool {
  return makeTool({
    name,
    exposedName: exposedName(name),
    description: def.description,
    inputSchema: def.input_schema,
    run: (args, ctx) => runHttp(name, def, args, ctx),
  });
}

function buildUrl(name: string, def: HttpToolDef, args: Record<string, unknown>, ctx: ToolContext): URL {
  const rendered = asText(renderField(name, "url", def.url, ctx, args));
  let url: URL;
  try {
    url = new URL(rendered);
  } catch {
    throw new ToolError(name, `tool "${name}": not a valid URL: ${JSON.stringify(rendered)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ToolError(name, `tool "${name}": only http and https URLs are allowed, got ${url.protocol}`);
  }
  if (def.query) {
    const query = renderField(name, "query", def.query, ctx, args) as Record<string, unknown>;
    for (const [key, value] of Object.entries(query)) {
      if (value === null || value === undefined) continue;
      for (const item of Array.isArray(value) ? value : [value]) url.searchParams.append(key, asText(item));
    }
  }
  return url;
}

/** Where a request went, without its query string (which may hold tokens). */
function where(method: string, url: URL): string {
  return `${method} ${url.origin}${url.pathname}`;
}

async function runHttp(name: string, def: HttpToolDef, args: Record<string, unknown>, ctx: ToolContext): Promise<HttpToolResult> {
  const url = buildUrl(name, def, args, ctx);
  const headers = new Headers();
  const renderedHeaders = renderField(name, "headers", def.headers, ctx, args) as Record<string, unknown>;
  for (const [key, value] of Object.entries(renderedHeaders)) headers.set(key, asText(value));

  let body: string | undefined;
  if (def.body !== undefined && def.method !== "GET" && def.method !== "HEAD") {
    const rendered = renderField(name, "body", def.body, ctx, args);
    if (typeof rendered === "string") {
      body = rendered;
      if (!headers.has("content-type")) headers.set("content-type", "text/plain; charset=utf-8");
    } else {
      body = JSON.stringify(rendered);
      if (!headers.has("content-type")) headers.set("content-type", "application/json");
    }
  }

  const controller = new AbortController();
  let timedOut = false;
  const onAbort = () => controller.abort(ctx.signal.reason);
  if (ctx.signal.aborted) throw abortReason(ctx.signal);
  ctx.signal.addEventListener("abort", onAbort, { once: true });
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, def.timeout_seconds * 1000);
  const started = Date.now();
  try {
    const response = await fetch(url, { method: def.method, headers, body, signal: controller.signal, redirect: "follow" });
    const result = await readResponse(response, def.max_output_bytes);
    ctx.logger.debug({ tool: name, status: result.status, ms: Date.now() - started }, "http tool call finished");
    if (result.status >= 400) {
      const preview = typeof result.body === "string" ? result.body : JSON.stringify(result.body ?? "");
      const tail = preview ? `: ${preview.slice(0, ERROR_BODY_PREVIEW)}` : "";
      throw new ToolError(name, `HTTP ${result.status} from ${where(def.method, url)}${tail}`, { result });
    }
    return result;
  } catch (err) {
    if (err instanceof ToolError) throw err;
    if (timedOut) {
      throw new ToolError(name, `tool "${name}": ${where(def.method, url)} timed out after ${def.timeout_seconds}s`, { cause: err });
    }
    if (ctx.signal.aborted) throw abortReason(ctx.signal);
    const cause = (err as { cause?: unknown }).cause;
    const detail = cause ? errorMessage(cause) : errorMessage(err);
    throw new ToolError(name, `tool "${name}": request ${where(def.method, url)} failed: ${detail}`, { cause: err });
  } finally {
    clearTimeout(timer);
    ctx.signal.removeEventListener("abort", onAbort);
  }
}

async function readResponse(response: Response, maxBytes: number): Promise<HttpToolResult> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, key) => {
    headers[key.toLowerCase()] = value;
  });
  const capped = new CappedOutput(maxBytes);
  if (response.body) {
    // Read chunk by chunk: past the cap bytes are only counted, never kept.
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) capped.push(chunk);
  }
  const result: HttpToolResult = { status: response.status, headers, body: capped.text() };
  if (capped.truncated) {
    result.truncated = true;
    return result;
  }
  const text = result.body as string;
  if (JSON_TYPE.test(headers["content-type"] ?? "") && text.trim() !== "") {
    try {
      result.body = JSON.parse(text);
    } catch {
      // A server that says JSON but sends something else: keep the text.
    }
  }
  return result;
}
