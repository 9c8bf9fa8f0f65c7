/**
 * The control API (SPEC 6): health, stats, triggers, executions, timers,
 * Server-Sent Events and Prometheus metrics. Every route but `GET /health`
 * needs the bearer token; a request without it is refused before anything runs.
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { EVENT_TYPES, isEventType, type EventType } from "../events/types.js";
import type { Logger } from "../logging/index.js";
import { silentLogger } from "../logging/index.js";
import { EXECUTION_STATUSES, type ExecutionStatus } from "../result.js";
import { TriggerError, type RuntimeHandle } from "../runtime/types.js";
import { isSafeId } from "../util/ids.js";
import { bearerMatches } from "./auth.js";
import { BodyAbortedError, BodyTimeoutError, BodyTooLargeError, readBody, refuseAndDrain } from "./body.js";
import { createHttpServer, parseUrl, REDIS_RETRY_AFTER, sendError, sendJson } from "./http-util.js";
import { closeServer, listen } from "./listen.js";
import { DEFAULT_TIMEOUTS, limitConnections, type ConnectionTimeouts } from "./connection-limits.js";
import { MetricsCollector } from "./metrics.js";
import { HealthProbe } from "./health.js";
import { EventStreams } from "./sse.js";
import { parseRerunBody, parseTriggerBody, RequestError } from "./trigger-body.js";
import type { WebhookStats } from "./webhook-stats.js";
import { validTraceparent } from "../telemetry/traceparent.js";
import { errorMessage } from "../errors.js";
import { ClusterBusyError, isRedisUnavailable } from "../storage/redis/connection.js";

export interface ControlApiOptions {
  runtime: RuntimeHandle;
  token: string;
  logger?: Logger;
  /** Counters of the webhook server, when one runs. */
  webhooks?: WebhookStats;
  /** Heartbeat interval of `/events`; default 15 s. */
  heartbeatMs?: number;
  /** The storage folder: `/health` probes that it can be written and shared state read. */
  storagePath?: string;
  /** False when shared state does not live in the storage folder (redis backend): `/health` does not read it there. */
  stateInStorage?: boolean;
  /** More `/health` checks (the redis backend's `redis`): "ok" or why not. */
  extraChecks?: () => Promise<Record<string, string>>;
  /** Unsent bytes at which an `/events` subscriber is dropped; default 1 MiB. */
  maxStreamBufferBytes?: number;
  /** Open connections at most (SPEC 5); default 1000. */
  maxConnections?: number;
  /** Head and body time bounds; default 10 s and 60 s. */
  timeouts?: ConnectionTimeouts;
}

const MAX_REQUEST_BYTES = 1_048_576;

type Handler = (req: IncomingMessage, res: ServerResponse, params: string[], url: URL) => Promise<void> | void;

interface Route {
  pattern: RegExp;
  methods: Partial<Record<string, Handler>>;
}

export class ControlApi {
  readonly server: Server;
  readonly metrics = new MetricsCollector();
  private readonly logger: Logger;
  private readonly streams: EventStreams;
  private readonly probe?: HealthProbe;
  private readonly routes: Route[];
  private draining = false;
  private url?: string;
  private readonly timeouts: ConnectionTimeouts;

  constructor(private readonly options: ControlApiOptions) {
    this.logger = options.logger ?? silentLogger();
    this.streams = new EventStreams(this.logger);
    if (options.storagePath) {
      const agents = options.stateInStorage === false ? () => [] : () => options.runtime.agentNames();
      this.probe = new HealthProbe({ storagePath: options.storagePath, agents });
    }
    const seg = "([^/]+)";
    this.routes = [
      { pattern: /^\/health$/, methods: { GET: (_q, r) => this.health(r) } },
      { pattern: /^\/stats$/, methods: { GET: async (_q, r) => sendJson(r, 200, await this.stats()) } },
      { pattern: /^\/metrics$/, methods: { GET: (_q, r) => this.renderMetrics(r) } },
      { pattern: new RegExp(`^/agents/${seg}/entry-points/${seg}/trigger$`), methods: { POST: (q, r, p) => this.trigger(q, r, p[0], p[1]!) } },
      { pattern: new RegExp(`^/entry-points/${seg}/trigger$`), methods: { POST: (q, r, p) => this.trigger(q, r, undefined, p[0]!) } },
      { pattern: /^\/executions$/, methods: { GET: (_q, r, _p, u) => this.listExecutions(r, u) } },
      { pattern: new RegExp(`^/executions/${seg}$`), methods: { GET: (_q, r, p) => this.getExecution(r, p[0]!) } },
      { pattern: new RegExp(`^/executions/${seg}/cancel$`), methods: { POST: (_q, r, p) => this.cancel(r, p[0]!) } },
      { pattern: new RegExp(`^/executions/${seg}/rerun$`), methods: { POST: (q, r, p) => this.rerun(q, r, p[0]!) } },
      { pattern: /^\/timers\/pause$/, methods: { POST: (_q, r) => this.setTimers(r, true) } },
      { pattern: /^\/timers\/resume$/, methods: { POST: (_q, r) => this.setTimers(r, false) } },
      { pattern: /^\/events$/, methods: { GET: (q, r, _p, u) => this.events(q, r, u) } },
    ];
    this.timeouts = options.timeouts ?? DEFAULT_TIMEOUTS;
    this.server = createHttpServer((req, res) => this.handle(req, res), this.logger, "control API", { headersTimeoutMs: this.timeouts.headersMs });
    limitConnections(this.server, options.maxConnections ?? 1000, this.timeouts, this.logger, "control API");
  }

  async listen(host: string, port: number): Promise<string> {
    this.metrics.attach(this.options.runtime);
    this.url = await listen(this.server, host, port);
    return this.url;
  }

  get baseUrl(): string | undefined {
    return this.url;
  }

  /** Health turns 503 and triggers are refused; reads, cancels and timers keep working. */
  startDraining(): void {
    this.draining = true;
  }

  async close(graceMs?: number): Promise<void> {
    this.draining = true;
    this.streams.closeAll();
    this.metrics.detach();
    await closeServer(this.server, graceMs);
  }

  /** Open `/events` subscribers, and how many were dropped for not reading. */
  get eventStreams(): { open: number; dropped: number } {
    return { open: this.streams.size, dropped: this.streams.dropped };
  }

  /** The stats object of `GET /stats`: the runtime's plus the webhook counters (the cluster's in a cluster). */
  async stats(): Promise<Record<string, unknown>> {
    const [stats, webhooks] = await Promise.all([this.options.runtime.getStats(), this.options.webhooks?.totals()]);
    return { ...stats, webhooks: webhooks?.counts ?? {} };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = parseUrl(req);
    if (!url) return sendError(res, 400, "bad_request", "malformed request target");
    const method = (req.method ?? "GET").toUpperCase();
    const isHealth = url.pathname === "/health" && (method === "GET" || method === "HEAD");
    if (!isHealth && !bearerMatches(req.headers.authorization, this.options.token)) {
      return sendError(res, 401, "unauthorized", "missing or wrong bearer token", { "www-authenticate": 'Bearer realm="forager"' });
    }
    for (const route of this.routes) {
      const match = route.pattern.exec(url.pathname);
      if (!match) continue;
      const handler = route.methods[method] ?? (method === "HEAD" ? route.methods.GET : undefined);
      if (!handler) {
        const allow = Object.keys(route.methods).join(", ");
        return sendError(res, 405, "method_not_allowed", `${method} is not allowed on ${url.pathname}`, { allow });
      }
      let params: string[];
      try {
        params = match.slice(1).map((p) => decodeURIComponent(p));
      } catch {
        return sendError(res, 400, "bad_request", "malformed path");
      }
      try {
        return await handler(req, res, params, url);
      } catch (err) {
        // Redis away or the cluster busy (redis backend): nothing was recorded; say so and when to retry, never 500.
        if (err instanceof ClusterBusyError) {
          this.logger.warn({ err, path: url.pathname }, `${method} ${url.pathname} refused (503): the cluster is busy`);
          return sendError(res, 503, "cluster_busy", err.message, { "retry-after": REDIS_RETRY_AFTER });
        }
        if (!isRedisUnavailable(err)) throw err;
        this.logger.warn({ err, path: url.pathname }, `${method} ${url.pathname} refused (503): Redis is unreachable`);
        return sendError(res, 503, "redis_unavailable", `Redis is unreachable: ${errorMessage(err)}`, { "retry-after": REDIS_RETRY_AFTER });
      }
    }
    return sendError(res, 404, "not_found", `no route ${method} ${url.pathname}`);
  }

  /** 200 `{"status":"ok","checks":{...}}`, or 503 naming the checks that fail. */
  private async health(res: ServerResponse): Promise<void> {
    const state = this.options.runtime.state;
    const checks: Record<string, string> = {
      draining: this.draining || state === "stopping" || state === "stopped" ? `draining: the server is shutting down (runtime ${state})` : "ok",
      ...(this.probe ? await this.probe.check() : {}),
      ...(this.options.extraChecks ? await this.options.extraChecks() : {}),
    };
    const failing = Object.keys(checks).filter((name) => checks[name] !== "ok");
    if (failing.length === 0) return sendJson(res, 200, { status: "ok", checks });
    const only = failing.length === 1 ? failing[0] : undefined;
    const status = only === "draining" ? "draining" : only === "redis" ? "redis_unavailable" : "failing";
    sendJson(res, 503, { status, failing, checks });
  }

  private async renderMetrics(res: ServerResponse): Promise<void> {
    const [stats, webhooks] = await Promise.all([this.options.runtime.getStats(), this.options.webhooks?.totals()]);
    const text = this.metrics.render(stats, webhooks);
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8", "cache-control": "no-store" });
    res.end(text);
  }

  private async trigger(req: IncomingMessage, res: ServerResponse, agent: string | undefined, entryPoint: string): Promise<void> {
    if (this.draining) return sendError(res, 503, "shutting_down", "the server is shutting down", { "retry-after": "5" });
    let request;
    try {
      const body = await readBody(req, MAX_REQUEST_BYTES, this.timeouts.bodyMs);
      request = parseTriggerBody(body);
    } catch (err) {
      if (err instanceof BodyTooLargeError) return refuseAndDrain(req, res, 413, { error: { code: "payload_too_large", message: err.message } });
      if (err instanceof BodyTimeoutError) return sendError(res, 408, "request_timeout", err.message, { connection: "close" });
      if (err instanceof BodyAbortedError) return;
      if (err instanceof RequestError) return sendError(res, 400, err.code, err.message);
      throw err;
    }
    const { runtime } = this.options;
    if (agent === undefined && runtime.agentNames().length > 1) {
      return sendError(res, 400, "agent_required", `several agents are loaded (${runtime.agentNames().join(", ")}); use /agents/{agent}/entry-points/${entryPoint}/trigger`, {}, { agents: runtime.agentNames() });
    }
    let outcome;
    try {
      const traceparent = validTraceparent(req.headers.traceparent);
      outcome = await runtime.submit({ agent, entryPoint, input: request.input, idempotencyKey: request.idempotency_key, ...(traceparent ? { traceparent } : {}) });
    } catch (err) {
      return this.sendTriggerError(res, err);
    }
    if (outcome.status === "skipped") return sendJson(res, 200, { status: "skipped", reason: outcome.reason });
    if (outcome.status === "rejected") {
      const retry = String(Math.max(1, Math.ceil(outcome.retry_after_seconds)));
      return sendJson(res, 429, { status: "rejected", error: { code: "rejected", message: outcome.reason } }, { "retry-after": retry });
    }
    const accepted = {
      execution_id: outcome.execution_id,
      session_id: outcome.session_id,
      status: outcome.status,
      ...(outcome.duplicate ? { duplicate: true } : {}),
    };
    this.logger.info({ agent, entry_point: entryPoint, execution_id: outcome.execution_id, duplicate: Boolean(outcome.duplicate) }, "trigger accepted");
    if (!request.wait) return sendJson(res, outcome.duplicate ? 200 : 202, accepted);
    await this.waitAndSend(res, outcome.execution_id, request.timeout, Boolean(outcome.duplicate));
  }

  /** `wait: true`: 200 with the result JSON, or 202 with the current state when `timeout` passes first. */
  private async waitAndSend(res: ServerResponse, executionId: string, timeoutSeconds: number | undefined, duplicate: boolean): Promise<void> {
    const gone = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) gone.abort(new Error("client went away"));
    };
    res.on("close", onClose);
    try {
      let result;
      try {
        result = await this.options.runtime.waitForCompletion(executionId, {
          timeoutMs: timeoutSeconds === undefined ? undefined : timeoutSeconds * 1000,
          signal: gone.signal,
        });
      } catch (err) {
        if (gone.signal.aborted) return;
        if (!(err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError"))) throw err;
      }
      if (gone.signal.aborted) return;
      const extra = duplicate ? { duplicate: true } : {};
      if (result) return sendJson(res, 200, { ...result, ...extra });
      const current = await this.options.runtime.getExecution(executionId);
      return sendJson(res, 202, { ...(current ?? { execution_id: executionId }), ...extra, wait_timed_out: true });
    } finally {
      res.off("close", onClose);
    }
  }

  private sendTriggerError(res: ServerResponse, err: unknown): void {
    if (err instanceof TriggerError) {
      if (err.kind === "not_found") return sendError(res, 404, "not_found", err.message);
      if (err.kind === "invalid_input") return sendError(res, 400, "invalid_input", err.message, {}, err.details);
      return sendError(res, 503, "not_running", err.message, { "retry-after": "5" });
    }
    throw err;
  }

  private async getExecution(res: ServerResponse, id: string): Promise<void> {
    if (!isSafeId(id)) return sendError(res, 404, "not_found", "no such execution");
    const result = await this.options.runtime.getExecution(id);
    if (!result) return sendError(res, 404, "not_found", `no execution ${id}`);
    sendJson(res, 200, result);
  }

  private async listExecutions(res: ServerResponse, url: URL): Promise<void> {
    const agent = url.searchParams.get("agent") ?? undefined;
    // Only a loaded agent is listed: any other value is a 404 and never reaches storage
    // (where it would become a path, and an index kept in memory).
    if (agent !== undefined && !this.options.runtime.agentNames().includes(agent)) {
      return sendError(res, 404, "not_found", `no agent ${JSON.stringify(agent.slice(0, 100))} is loaded`);
    }
    const status = url.searchParams.get("status") ?? undefined;
    const limitText = url.searchParams.get("limit");
    if (status !== undefined && !(EXECUTION_STATUSES as readonly string[]).includes(status)) {
      return sendError(res, 400, "invalid_query", `status must be one of ${EXECUTION_STATUSES.join(", ")}`);
    }
    let limit: number | undefined;
    if (limitText !== null) {
      limit = Number(limitText);
      if (!/^\d+$/.test(limitText) || limit < 1) return sendError(res, 400, "invalid_query", "limit must be a positive integer");
    }
    const list = await this.options.runtime.listExecutions({ agent, status: status as ExecutionStatus | undefined, limit: limit ?? 50 });
    sendJson(res, 200, list);
  }

  private async cancel(res: ServerResponse, id: string): Promise<void> {
    if (!isSafeId(id)) return sendError(res, 404, "not_found", "no such execution");
    const result = await this.options.runtime.cancel(id, "user");
    if (!result) return sendError(res, 404, "not_found", `no execution ${id}`);
    this.logger.info({ execution_id: id }, "execution cancelled through the control API");
    sendJson(res, 200, result);
  }

  /** `POST /executions/{id}/rerun`: a new execution of the same agent, entry point and input (SPEC 6). */
  private async rerun(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    if (this.draining) return sendError(res, 503, "shutting_down", "the server is shutting down", { "retry-after": "5" });
    let request;
    try {
      request = parseRerunBody(await readBody(req, MAX_REQUEST_BYTES));
    } catch (err) {
      if (err instanceof BodyTooLargeError) return sendError(res, 413, "payload_too_large", err.message, { connection: "close" });
      if (err instanceof BodyAbortedError) return;
      if (err instanceof RequestError) return sendError(res, 400, err.code, err.message);
      throw err;
    }
    let outcome;
    try {
      outcome = await this.options.runtime.rerun(id);
    } catch (err) {
      return this.sendTriggerError(res, err);
    }
    if (!outcome) return sendError(res, 404, "not_found", `no execution ${id}`);
    if (outcome.status === "skipped") return sendJson(res, 200, { status: "skipped", reason: outcome.reason, rerun_of: id });
    if (outcome.status === "rejected") {
      const retry = String(Math.max(1, Math.ceil(outcome.retry_after_seconds)));
      return sendJson(res, 429, { status: "rejected", rerun_of: id, error: { code: "rejected", message: outcome.reason } }, { "retry-after": retry });
    }
    this.logger.info({ execution_id: outcome.execution_id, rerun_of: id }, "rerun accepted");
    if (!request.wait) {
      return sendJson(res, 202, { execution_id: outcome.execution_id, session_id: outcome.session_id, status: outcome.status, rerun_of: id });
    }
    await this.waitAndSend(res, outcome.execution_id, request.timeout, false);
  }

  private async setTimers(res: ServerResponse, pause: boolean): Promise<void> {
    if (pause) await this.options.runtime.pauseTimers();
    else await this.options.runtime.resumeTimers();
    this.logger.info(pause ? "timers paused" : "timers resumed");
    sendJson(res, 200, { timers_paused: this.options.runtime.timersPaused });
  }

  private events(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const typesText = url.searchParams.get("types");
    let types: EventType[] | undefined;
    if (typesText) {
      types = [];
      for (const raw of typesText.split(",")) {
        const name = raw.trim().toLowerCase();
        if (!name) continue;
        if (!isEventType(name)) return sendError(res, 400, "invalid_query", `unknown event type "${raw.trim()}"; known: ${EVENT_TYPES.join(", ")}`);
        types.push(name);
      }
    }
    this.streams.serve(req, res, this.options.runtime, { types, heartbeatMs: this.options.heartbeatMs, maxBufferedBytes: this.options.maxStreamBufferBytes });
  }
}
