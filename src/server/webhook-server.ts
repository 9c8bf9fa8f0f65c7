/**
 * The webhook listener (SPEC 5). A delivery is answered 202 only after the
 * runtime has recorded its event and queued its executions; provider
 * retries are dropped by delivery id through a persisted KeyStore (a
 * pending claim while the first copy is recorded, claims.ts); bad input
 * of any kind gets a 4xx and the server stays up.
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { WebhookRouteDef } from "../config/schema.js";
import type { Logger } from "../logging/index.js";
import { silentLogger } from "../logging/index.js";
import { TriggerError, type RuntimeHandle } from "../runtime/types.js";
import { claimKey, pendingClaim, releaseClaim, settleClaim } from "../storage/claims.js";
import type { KeyStore } from "../storage/types.js";
import { newEventId } from "../util/ids.js";
import { BodyAbortedError, BodyTimeoutError, BodyTooLargeError, readBody, refuseAndDrain } from "./body.js";
import { createHttpServer, flatHeaders, parseUrl, REDIS_RETRY_AFTER, sendError, sendJson, type ErrorBody } from "./http-util.js";
import { closeServer, listen } from "./listen.js";
import { DEFAULT_TIMEOUTS, limitConnections, type ConnectionTimeouts } from "./connection-limits.js";
import { createRouteVerifier, deliveryIdOf, signatureHeaders, type RouteVerifier } from "./verify/index.js";
import { eventHeaders, InvalidJsonError, parsePayload, queryToObject } from "./webhook-payload.js";
import { forgetJsonText } from "../storage/raw-json.js";
import { WebhookStats } from "./webhook-stats.js";
import { validTraceparent } from "../telemetry/traceparent.js";
import { errorMessage } from "../errors.js";
import { ClusterBusyError, isRedisUnavailable } from "../storage/redis/connection.js";

export interface WebhookServerOptions {
  routes: readonly WebhookRouteDef[];
  runtime: Pick<RuntimeHandle, "ingest" | "state">;
  /** Delivery ids seen recently; shared with nothing else but persisted across restarts. */
  keys: KeyStore;
  logger?: Logger;
  /** Milliseconds since the epoch, for signature timestamps. */
  now?: () => number;
  /** Open connections at most (SPEC 5); default 1000. */
  maxConnections?: number;
  /** Head and body time bounds; default 10 s and 60 s. */
  timeouts?: ConnectionTimeouts;
  /** Counters to record into (shared with the control API); default: new ones. */
  stats?: WebhookStats;
}

interface CompiledRoute {
  def: WebhookRouteDef;
  verify: RouteVerifier;
  hiddenHeaders: string[];
  allow: string;
}

const DEDUP_NAMESPACE = "webhook-deliveries";
/** How long a retry waits for a first copy still being recorded. */
const DEDUP_WAIT_MS = 5_000;

export class WebhookServer {
  readonly server: Server;
  readonly stats: WebhookStats;
  private readonly routes = new Map<string, CompiledRoute>();
  private readonly logger: Logger;
  private readonly timeouts: ConnectionTimeouts;
  private draining = false;
  private url?: string;

  constructor(private readonly options: WebhookServerOptions) {
    this.logger = options.logger ?? silentLogger();
    for (const def of options.routes) this.routes.set(def.path, this.compile(def));
    this.stats = options.stats ?? new WebhookStats([]);
    for (const def of options.routes) this.stats.addSource(def.source_id);
    this.timeouts = options.timeouts ?? DEFAULT_TIMEOUTS;
    this.server = createHttpServer((req, res) => this.handle(req, res), this.logger, "webhook", { headersTimeoutMs: this.timeouts.headersMs });
    limitConnections(this.server, options.maxConnections ?? 1000, this.timeouts, this.logger, "webhook listener");
  }

  /**
   * Replaces the routes (a reload). Requests already being handled finish
   * on the route they matched; the next request sees the new set. Returns
   * the paths added, removed and changed.
   */
  setRoutes(routes: readonly WebhookRouteDef[]): { added: string[]; removed: string[]; changed: string[] } {
    const next = new Map<string, CompiledRoute>();
    const diff = { added: [] as string[], removed: [] as string[], changed: [] as string[] };
    for (const def of routes) {
      const old = this.routes.get(def.path);
      const same = old !== undefined && JSON.stringify(old.def) === JSON.stringify(def);
      next.set(def.path, same ? old : this.compile(def));
      if (!old) diff.added.push(def.path);
      else if (!same) diff.changed.push(def.path);
      this.stats.addSource(def.source_id);
    }
    for (const path of this.routes.keys()) if (!next.has(path)) diff.removed.push(path);
    this.routes.clear();
    for (const [path, route] of next) this.routes.set(path, route);
    return diff;
  }

  /** Counts and logs a refused delivery: one line each, so an operator sees every refusal and why. */
  private refused(source: string, status: number, reason: string, deliveryId?: string): void {
    this.stats.record(source, "rejected", status);
    this.logRefused(source, status, reason, undefined, deliveryId);
  }

  private logRefused(source: string | undefined, status: number, reason: string, path?: string, deliveryId?: string): void {
    // A bad signature is worth a warning: a wrong secret on either side, or someone probing.
    this.logger[status === 401 ? "warn" : "info"](
      { source_id: source, status_code: status, reason, ...(path ? { path } : {}), ...(deliveryId ? { delivery_id: deliveryId } : {}) },
      `webhook ${source ?? path} refused (${status}): ${reason}`,
    );
  }

  private compile(def: WebhookRouteDef): CompiledRoute {
    return { def, verify: createRouteVerifier(def, this.options.now), hiddenHeaders: signatureHeaders(def), allow: def.methods.join(", ") };
  }

  /** Starts listening; returns the base URL. */
  async listen(host: string, port: number): Promise<string> {
    this.url = await listen(this.server, host, port);
    return this.url;
  }

  get baseUrl(): string | undefined {
    return this.url;
  }

  /** From now on every request gets 503 (shutdown). */
  startDraining(): void {
    this.draining = true;
  }

  async close(graceMs?: number): Promise<void> {
    this.draining = true;
    await closeServer(this.server, graceMs);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = parseUrl(req);
    if (!url) return sendError(res, 400, "bad_request", "malformed request target");
    if (this.draining || this.options.runtime.state === "stopping" || this.options.runtime.state === "stopped") {
      this.logRefused(this.routes.get(url.pathname)?.def.source_id, 503, "shutting down", url.pathname);
      return refuseAndDrain(req, res, 503, errorBody("shutting_down", "the server is shutting down"), { "retry-after": "5" });
    }
    const route = this.routes.get(url.pathname);
    if (!route) {
      this.logRefused(undefined, 404, "no route at this path", url.pathname);
      return sendError(res, 404, "not_found", `no webhook route at ${url.pathname}`);
    }
    const source = route.def.source_id;
    const method = (req.method ?? "GET").toUpperCase();
    if (!route.def.methods.includes(method as WebhookRouteDef["methods"][number])) {
      this.refused(source, 405, `method ${method} not allowed`);
      return sendError(res, 405, "method_not_allowed", `${method} is not allowed on ${url.pathname}`, { allow: route.allow });
    }

    let body: Buffer;
    try {
      body = await readBody(req, route.def.max_body_bytes, this.timeouts.bodyMs);
    } catch (err) {
      if (err instanceof BodyTooLargeError) {
        this.refused(source, 413, err.message);
        return refuseAndDrain(req, res, 413, errorBody("payload_too_large", err.message));
      }
      if (err instanceof BodyTimeoutError) {
        this.refused(source, 408, err.message);
        return sendError(res, 408, "request_timeout", err.message, { connection: "close" });
      }
      if (err instanceof BodyAbortedError) {
        this.refused(source, 400, err.message);
        if (!res.writableEnded && !req.socket.destroyed) sendError(res, 400, "bad_request", err.message);
        return;
      }
      throw err;
    }

    const headers = flatHeaders(req);
    const verdict = route.verify({ body, headers });
    if (!verdict.ok) {
      this.refused(source, 401, `signature rejected: ${verdict.reason}`);
      return sendError(res, 401, "invalid_signature", verdict.reason);
    }

    let payload: unknown;
    try {
      payload = parsePayload(body, headers["content-type"]);
    } catch (err) {
      if (!(err instanceof InvalidJsonError)) throw err;
      this.refused(source, 400, err.message);
      return sendError(res, 400, "invalid_json", err.message);
    }

    const deliveryId = deliveryIdOf(route.def, headers, payload);
    const data = {
      source_id: source,
      path: url.pathname,
      method,
      headers: eventHeaders(headers, route.hiddenHeaders),
      query: queryToObject(url),
      delivery_id: deliveryId ?? null,
      payload,
    };
    try {
      await this.deliver(route, res, data, deliveryId, validTraceparent(headers.traceparent));
    } catch (err) {
      // Redis away (redis backend) while claiming the delivery id: nothing was recorded, the sender retries.
      if (!isRedisUnavailable(err) && !(err instanceof ClusterBusyError)) throw err;
      this.redisUnavailable(res, source, deliveryId, err);
    } finally {
      // Kept for the ingest log's line only (a file log takes it when it writes; other logs never do).
      forgetJsonText(payload);
    }
  }

  private redisUnavailable(res: ServerResponse, source: string, deliveryId: string | undefined, err: unknown): void {
    if (err instanceof ClusterBusyError) {
      this.refused(source, 503, err.message, deliveryId);
      return sendError(res, 503, "cluster_busy", "the event could not be recorded: the cluster is busy; retry later", { "retry-after": REDIS_RETRY_AFTER });
    }
    this.refused(source, 503, `Redis is unreachable (${errorMessage(err)})`, deliveryId);
    sendError(res, 503, "redis_unavailable", "the event could not be recorded: Redis is unreachable; retry later", { "retry-after": REDIS_RETRY_AFTER });
  }

  private async deliver(
    route: CompiledRoute,
    res: ServerResponse,
    data: Record<string, unknown>,
    deliveryId: string | undefined,
    traceparent: string | undefined,
  ): Promise<void> {
    const source = route.def.source_id;
    const eventId = newEventId();
    const dedupKey = `${source}:${deliveryId}`;
    const claim = pendingClaim(eventId);
    const keys = this.options.keys;

    if (deliveryId !== undefined) {
      // A retry arriving while the first copy is still being recorded waits
      // for it (bounded): if that one fails and releases its key, this one takes over.
      const claimed = await claimKey(keys, DEDUP_NAMESPACE, dedupKey, claim, DEDUP_WAIT_MS);
      if (claimed.status === "final") {
        this.stats.record(source, "duplicates", 200);
        this.logger.info(
          { source_id: source, status_code: 200, delivery_id: deliveryId, event_id: claimed.value },
          `webhook ${source} duplicate delivery ${deliveryId} ignored (200)`,
        );
        return sendJson(res, 200, { status: "duplicate", event_id: claimed.value });
      }
      if (claimed.status === "pending") {
        this.refused(source, 503, "the same delivery is still being recorded", deliveryId);
        return sendError(res, 503, "delivery_in_progress", "the same delivery is still being recorded; retry later", { "retry-after": "5" });
      }
    }

    const release = async () => {
      if (deliveryId !== undefined) await releaseClaim(keys, DEDUP_NAMESPACE, dedupKey, claim).catch(() => {});
    };
    let outcome;
    try {
      outcome = await this.options.runtime.ingest({ type: "webhook_received", id: eventId, stream_id: source, data }, { traceparent });
    } catch (err) {
      await release();
      if (err instanceof TriggerError && err.kind === "not_running") {
        this.refused(source, 503, "the runtime is not accepting events", deliveryId);
        return sendError(res, 503, "shutting_down", "the runtime is not accepting events", { "retry-after": "5" });
      }
      if (isRedisUnavailable(err) || err instanceof ClusterBusyError) return this.redisUnavailable(res, source, deliveryId, err);
      this.stats.record(source, "rejected", 500);
      this.logger.error({ err, source_id: source, status_code: 500, delivery_id: deliveryId }, `webhook ${source} refused (500): recording it failed`);
      return sendError(res, 500, "internal_error", "the event could not be recorded; retry later");
    }
    if (outcome.status === "full") {
      await release();
      this.refused(source, 429, "every matching entry point's queue is full", deliveryId);
      const retry = String(Math.max(1, Math.ceil(outcome.retry_after_seconds)));
      return sendError(res, 429, "queue_full", "every matching entry point's queue is full", { "retry-after": retry });
    }
    if (deliveryId !== undefined) {
      // After the event is on disk, never before: a crash between the two
      // writes may let a retry in again, but never drops a delivery.
      try {
        await settleClaim(keys, DEDUP_NAMESPACE, dedupKey, claim, outcome.event.id, route.def.dedup_ttl);
      } catch (err) {
        // The event is recorded and its executions queued: accepted. Only the
        // guard against a later retry is missing, so say so and go on.
        this.logger.error({ err, source_id: source, delivery_id: deliveryId }, `webhook ${source}: recording delivery ${deliveryId} as seen failed; a retry may run again`);
      }
    }
    this.stats.record(source, "accepted", 202);
    const started = outcome.executions.length;
    this.logger.info(
      { source_id: source, status_code: 202, event_id: outcome.event.id, delivery_id: deliveryId, execution_ids: outcome.executions },
      `webhook ${source} accepted (202)${deliveryId === undefined ? "" : `, delivery ${deliveryId}`}: ${started} ${started === 1 ? "execution" : "executions"}`,
    );
    sendJson(res, 202, { status: "accepted", event_id: outcome.event.id, executions: outcome.executions });
  }
}

function errorBody(code: string, message: string): ErrorBody {
  return { error: { code, message } };
}
