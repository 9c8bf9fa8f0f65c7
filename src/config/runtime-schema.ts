/**
 * The agent file's `runtime` section as zod schemas: concurrency, the
 * webhook and control listeners, webhook routes, session retention, the
 * storage backend and worker loss. Built by schema.ts on first use, with
 * the zod it loads; the defaults' values are kept in defaults.ts.
 */
import type { z as Zod } from "zod";
import { RUNTIME_DEFAULTS } from "./defaults.js";
import type { PrimitiveSchemas } from "./schema-primitives.js";

/** Builds the `runtime` section's schemas with `z` and the shared value schemas. */
export function runtimeSchemas(z: typeof Zod, { Duration, Id, PositiveInt }: PrimitiveSchemas) {
  const strict = z.strictObject;

  const WebhookRouteSchema = strict({
    source_id: Id,
    path: z.string().regex(/^\//, "expected a path starting with '/'"),
    methods: z.array(z.enum(["GET", "POST", "PUT", "PATCH", "DELETE"])).min(1).default(["POST"]),
    secret: z.string().min(1).optional(),
    /** Several secrets for rotation: a signature valid for any of them passes. */
    secrets: z.array(z.string().min(1)).min(1).optional(),
    verify: z.enum(["github", "slack", "stripe", "standard", "hmac"]).optional(),
    allow_unsigned: z.boolean().default(false),
    max_body_bytes: PositiveInt.default(1_048_576),
    dedup_ttl: Duration.default(86_400),
    /** slack, stripe, standard: how old a signed timestamp may be. */
    tolerance_seconds: z.number().positive().default(300),
    /** verify: hmac — where the signature is and how it is written. */
    header: z.string().optional(),
    algorithm: z.enum(["sha1", "sha256", "sha512"]).default("sha256"),
    encoding: z.enum(["hex", "base64"]).default("hex"),
    prefix: z.string().default(""),
    /** verify: hmac — the header holding the delivery id used for de-duplication. */
    delivery_id_header: z.string().optional(),
  });

  const RuntimeSchema = strict({
    max_concurrent_executions: PositiveInt.default(RUNTIME_DEFAULTS.max_concurrent_executions),
    cache_ttl: Duration.default(RUNTIME_DEFAULTS.cache_ttl),
    execution_result_max: PositiveInt.default(RUNTIME_DEFAULTS.execution_result_max),
    storage_path: z.string().optional(),
    webhook_host: z.string().default(RUNTIME_DEFAULTS.webhook_host),
    webhook_port: z.number().int().min(0).max(65535).default(RUNTIME_DEFAULTS.webhook_port),
    webhook_routes: z.array(WebhookRouteSchema).default([]),
    control_host: z.string().default(RUNTIME_DEFAULTS.control_host),
    control_port: z.number().int().min(0).max(65535).default(RUNTIME_DEFAULTS.control_port),
    shutdown_grace_seconds: z.number().nonnegative().default(RUNTIME_DEFAULTS.shutdown_grace_seconds),
    /**
     * Open connections each listener (webhooks, control API) holds at most;
     * lowered further when the open-file limit leaves less (SPEC 5).
     */
    max_connections: PositiveInt.default(RUNTIME_DEFAULTS.max_connections),
    /**
     * Finished sessions older than max_age, or beyond the newest max_sessions
     * per agent, are removed at start and every few minutes: disk and the
     * in-memory index stay bounded unless a file opts out with larger values.
     */
    session_retention: strict({
      max_age: Duration.default(RUNTIME_DEFAULTS.session_retention.max_age),
      max_sessions: PositiveInt.default(RUNTIME_DEFAULTS.session_retention.max_sessions),
    }).default(() => ({ ...RUNTIME_DEFAULTS.session_retention })),
    /**
     * Where queues, sessions, state and keys live (SPEC 9): `file` (one
     * process, the storage folder) or `redis` (several `serve` processes
     * sharing one Redis as one runtime).
     */
    backend: z.enum(["file", "redis"]).default(RUNTIME_DEFAULTS.backend),
    /** redis://host:6379/0 (rediss:// for TLS); FORAGER_REDIS_URL when unset. */
    redis_url: z.string().regex(/^rediss?:\/\//, "expected a redis:// or rediss:// URL").optional(),
    /** Keys and queues of this cluster live under this prefix. */
    redis_prefix: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/, "expected letters, digits, '_' or '-'")
      .default(RUNTIME_DEFAULTS.redis_prefix),
    /**
     * A node lost mid-execution (redis backend): after lock_seconds +
     * check_seconds another node re-runs the execution, up to `retries` times.
     */
    worker_loss: strict({
      lock_seconds: z.number().positive().default(RUNTIME_DEFAULTS.worker_loss.lock_seconds),
      check_seconds: z.number().positive().default(RUNTIME_DEFAULTS.worker_loss.check_seconds),
      retries: z.number().int().min(0).default(RUNTIME_DEFAULTS.worker_loss.retries),
    }).default(() => ({ ...RUNTIME_DEFAULTS.worker_loss })),
  });

  return { WebhookRouteSchema, RuntimeSchema };
}
