/** A small fetch client for the control API, used by `trigger`, `stats`, `cancel`, `rerun` and the timer commands. */
import { ConnectionError, ForagerError } from "../errors.js";
import { noServerError, type ServerTarget } from "./discovery.js";

export interface ApiResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

export interface TriggerParams {
  agent?: string;
  entryPoint: string;
  input?: Record<string, unknown>;
  idempotencyKey?: string;
  wait?: boolean;
  /** Seconds. */
  timeout?: number;
}

export class ControlClient {
  constructor(private readonly target: ServerTarget) {}

  get url(): string {
    return this.target.url;
  }

  /** Sends a request; network failures become "no running forager serve found". */
  async request<T = unknown>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (this.target.token) headers.authorization = `Bearer ${this.target.token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    let response: Response;
    try {
      response = await fetch(`${this.target.url}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
    } catch (err) {
      if (signal?.aborted) throw err;
      const cause = (err as { cause?: { code?: string; errors?: { code?: string }[] } }).cause;
      const code = cause?.code ?? cause?.errors?.find((e) => e.code)?.code;
      throw noServerError(`${this.target.url}: ${code ?? (cause as { message?: string } | undefined)?.message ?? (err as Error).message}`);
    }
    const text = await response.text();
    let parsed: unknown = text;
    if ((response.headers.get("content-type") ?? "").includes("json") && text !== "") {
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new ConnectionError(`${this.target.url}${path} answered ${response.status} with invalid JSON`);
      }
    }
    if (response.status === 401) {
      throw new ConnectionError(`the control API at ${this.target.url} refused the token (401)`, {
        hint: "pass the token from serve.json with --token, or set FORAGER_TOKEN",
      });
    }
    return { status: response.status, headers: response.headers, body: parsed as T };
  }

  trigger(params: TriggerParams, signal?: AbortSignal): Promise<ApiResponse<Record<string, unknown>>> {
    const path = params.agent
      ? `/agents/${encodeURIComponent(params.agent)}/entry-points/${encodeURIComponent(params.entryPoint)}/trigger`
      : `/entry-points/${encodeURIComponent(params.entryPoint)}/trigger`;
    const body: Record<string, unknown> = { input: params.input ?? {} };
    if (params.idempotencyKey) body.idempotency_key = params.idempotencyKey;
    if (params.wait) body.wait = true;
    if (params.timeout !== undefined) body.timeout = params.timeout;
    return this.request("POST", path, body, signal);
  }

  /** `POST /executions/{id}/cancel`: 200 with the result, 404 when unknown. */
  cancel(executionId: string, signal?: AbortSignal): Promise<ApiResponse<Record<string, unknown>>> {
    return this.request("POST", `/executions/${encodeURIComponent(executionId)}/cancel`, undefined, signal);
  }

  /** `POST /executions/{id}/rerun`: 202 with the new ids, or 200 with the result under `wait`. */
  rerun(executionId: string, options: { wait?: boolean; timeout?: number } = {}, signal?: AbortSignal): Promise<ApiResponse<Record<string, unknown>>> {
    const body: Record<string, unknown> = { wait: Boolean(options.wait) };
    if (options.timeout !== undefined) body.timeout = options.timeout;
    return this.request("POST", `/executions/${encodeURIComponent(executionId)}/rerun`, body, signal);
  }

  /** The target's base URL and bearer token, for clients that stream (`forager events`). */
  get server(): ServerTarget {
    return this.target;
  }

  async stats(): Promise<Record<string, unknown>> {
    return this.expectOk(await this.request<Record<string, unknown>>("GET", "/stats"));
  }

  async setTimersPaused(paused: boolean): Promise<{ timers_paused: boolean }> {
    return this.expectOk(await this.request<{ timers_paused: boolean }>("POST", paused ? "/timers/pause" : "/timers/resume"));
  }

  private expectOk<T>(response: ApiResponse<T>): T {
    if (response.status >= 200 && response.status < 300) return response.body;
    throw new ForagerError("server_error", `control API answered ${response.status}: ${errorText(response.body)}`);
  }
}

/** The message of an `{error: {message}}` body, or the body itself. */
export function errorText(body: unknown): string {
  if (typeof body === "object" && body !== null) {
    const error = (body as { error?: unknown }).error;
    if (typeof error === "object" && error !== null && typeof (error as { message?: unknown }).message === "string") {
      return (error as { message: string }).message;
    }
    return JSON.stringify(body);
  }
  return String(body);
}
