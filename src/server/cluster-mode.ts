/**
 * What `serve` does differently with `runtime.backend: redis` (SPEC 9): the
 * control token must be given (every node accepts the same one, so a CLI
 * or a load balancer can talk to any node), Redis must answer before the
 * node starts taking work, and the storage folder holds only serve.json (no
 * lock: sessions, state and keys live in Redis, and each node has a folder
 * of its own). Its agent definitions must also be the cluster's
 * (`<prefix>:cluster:config`, runtime/cluster/config-digest.ts), unless it
 * is started with `--rolling` during a rolling deploy.
 */
import { hostname } from "node:os";
import type { Agent, RuntimeConfig } from "../config/schema.js";
import { UsageError } from "../errors.js";
import type { Logger } from "../logging/index.js";
import type { RedisCheck } from "./redis-check.js";

export interface ClusterMode {
  /** The token every node shares. */
  token: string;
  /** The start-up check's link, kept for `/health`. */
  redis: RedisCheck;
  /** This node's agent-definitions digest (sha256 hex). */
  digest: string;
  /**
   * Called once the node serves (it has joined the cluster): drops the
   * start claim of the digest it wrote, and a `--rolling` node makes its
   * digest the cluster's, so that a rolling deploy converges on the new
   * definitions (nodes still on the old files then need `--rolling` to
   * start again).
   */
  afterStart(): Promise<void>;
  /**
   * A SIGHUP reload's new definitions: refused (throws the one-line reason)
   * unless their digest is the cluster's, since nodes that disagree would
   * admit and run the same entry points differently. Changing them is a
   * rolling restart with `--rolling`.
   */
  checkReload(agents: readonly Agent[], config: RuntimeConfig): Promise<void>;
}

export interface ClusterStartOptions {
  /** The loaded agents: their definitions are compared with the cluster's. */
  agents: readonly Agent[];
  /** `serve --rolling`: start even when the cluster runs other definitions. */
  rolling?: boolean;
}

/** True when the merged config asks for the Redis backend. */
export function isClusterConfig(config: Pick<RuntimeConfig, "backend">): boolean {
  return config.backend === "redis";
}

/** The one-line refusal when FORAGER_TOKEN is missing in redis mode. */
export function requireClusterToken(env: NodeJS.ProcessEnv): string {
  const token = env.FORAGER_TOKEN?.trim();
  if (!token) {
    throw new UsageError("runtime.backend is redis but FORAGER_TOKEN is not set: every node of a cluster must accept the same control token", {
      hint: "set FORAGER_TOKEN to the same secret on every node (e.g. openssl rand -hex 32)",
    });
  }
  return token;
}

/** Checks the token and Redis; throws a one-line error when this node must not start. */
export async function prepareClusterMode(config: RuntimeConfig, env: NodeJS.ProcessEnv, logger: Logger, options: ClusterStartOptions): Promise<ClusterMode> {
  const token = requireClusterToken(env);
  const { redisSettings } = await import("../storage/redis/connection.js");
  let settings;
  try {
    settings = redisSettings(config, env);
  } catch (err) {
    throw new UsageError((err as Error).message, { hint: (err as { hint?: string }).hint });
  }
  const { RedisCheck } = await import("./redis-check.js");
  const redis = new RedisCheck(settings);
  try {
    await redis.atStart(logger.child({ component: "redis" }));
    const digest = await checkDefinitions(redis, config, logger, options);
    return {
      token,
      redis,
      digest,
      afterStart: () => (options.rolling ? adoptDefinitions(redis, digest, logger) : releaseClaim(redis, digest)),
      checkReload: (agents, next) => checkReloadedDefinitions(redis, agents, next),
    };
  } catch (err) {
    await redis.close();
    throw err;
  }
}

/** This node as the cluster config records it. */
const thisNode = () => `${hostname()}:${process.pid}`;

/** Compares this node's agent definitions with the cluster's; throws the one-line refusal when they differ without --rolling. */
async function checkDefinitions(redis: RedisCheck, config: RuntimeConfig, logger: Logger, options: ClusterStartOptions): Promise<string> {
  const { configDigest, checkClusterConfig, shortDigest, START_CLAIM_MS } = await import("../runtime/cluster/config-digest.js");
  const digest = configDigest(options.agents, config);
  const check = await checkClusterConfig(redis.link, digest, thisNode());
  const log = logger.child({ component: "cluster" });
  const fields = { digest: shortDigest(digest), config_version: check.record.version };
  switch (check.kind) {
    case "created":
      log.info(fields, `agent definitions ${shortDigest(digest)} are now the cluster's (first node)`);
      break;
    case "same":
      log.info(fields, `agent definitions ${shortDigest(digest)} match the cluster's`);
      break;
    case "taken_over":
      log.info(
        { ...fields, previous_digest: shortDigest(check.previous.digest) },
        `agent definitions ${shortDigest(digest)} replace the cluster's ${shortDigest(check.previous.digest)}: no node was running`,
      );
      break;
    case "differs": {
      const theirs = shortDigest(check.record.digest);
      const by = check.record.node ? `, set by ${check.record.node}` : "";
      // No node runs yet: the one that wrote the digest is still starting (or died starting; its claim then lapses).
      const who = check.alive ? "the nodes running the other files" : `the node starting with the other files (or wait ${START_CLAIM_MS / 1000} s if it died)`;
      if (!options.rolling) {
        // One line, everything in the message: what differs, and both ways forward.
        throw new UsageError(
          `this node's agent definitions (digest ${shortDigest(digest)}) differ from the cluster's (digest ${theirs}, version ${check.record.version}${by}) ` +
            `at ${redis.where} prefix ${config.redis_prefix}: stop ${who} first, or start this node with --rolling during a rolling deploy`,
        );
      }
      log.warn(
        { ...fields, cluster_digest: theirs, rolling: true },
        `--rolling: starting with agent definitions ${shortDigest(digest)} while the cluster runs ${theirs}; this node makes ${shortDigest(digest)} the cluster's once it serves`,
      );
      break;
    }
  }
  return digest;
}

/** Throws unless the reloaded definitions' digest is the cluster's. */
async function checkReloadedDefinitions(redis: RedisCheck, agents: readonly Agent[], config: RuntimeConfig): Promise<void> {
  const { configDigest, checkClusterConfig, releaseStartClaim, shortDigest } = await import("../runtime/cluster/config-digest.js");
  const digest = configDigest(agents, config);
  const check = await checkClusterConfig(redis.link, digest, thisNode());
  if (check.kind !== "differs") {
    // Written only if the cluster had none: this node serves already, so no start claim is needed.
    if (check.kind !== "same") await releaseStartClaim(redis.link, digest);
    return;
  }
  throw new UsageError(
    `the new agent definitions (digest ${shortDigest(digest)}) differ from the cluster's (digest ${shortDigest(check.record.digest)}): ` +
      `in a cluster, change them by restarting each node with --rolling`,
  );
}

/** A node without --rolling, once up: the digest it may have written is no longer only claimed, the cluster runs it. */
async function releaseClaim(redis: RedisCheck, digest: string): Promise<void> {
  const { releaseStartClaim } = await import("../runtime/cluster/config-digest.js");
  await releaseStartClaim(redis.link, digest);
}

/** A --rolling node, once up: its digest becomes the cluster's. */
async function adoptDefinitions(redis: RedisCheck, digest: string, logger: Logger): Promise<void> {
  const { adoptClusterConfig, shortDigest } = await import("../runtime/cluster/config-digest.js");
  const adopted = await adoptClusterConfig(redis.link, digest, thisNode());
  if (adopted.changed) {
    logger
      .child({ component: "cluster" })
      .warn({ digest: shortDigest(digest), config_version: adopted.record.version, rolling: true }, `--rolling: agent definitions ${shortDigest(digest)} are now the cluster's (version ${adopted.record.version})`);
  }
}
