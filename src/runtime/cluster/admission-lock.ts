/**
 * The short per-entry-point lock admission decides under
 * (`<prefix>:lock:admit:<queue>`, DISTRIBUTED §4.1): `SET NX PX`, spinning
 * briefly while another node holds it, released by compare-and-delete so a
 * lock that lapsed and was taken by another node is never freed by us.
 */
import { randomBytes } from "node:crypto";
import type { RedisLink } from "../../storage/redis/connection.js";
import { ClusterBusyError } from "../../storage/redis/connection.js";
import { KeyedQueue } from "../../util/keyed-queue.js";
import { runScript, UNLOCK } from "./lua.js";

const LOCK_MS = 5_000;
const SPIN_MS = 2;
/** How long an admission waits for the lock, its turn on this node included. */
const GIVE_UP_MS = 5_000;

/**
 * Admissions of one node to one queue take their turn here first, so at
 * most one per node spins on the Redis lock: a burst on one node costs no
 * Redis traffic while it waits, and nodes contend only with each other.
 */
const turns = new WeakMap<RedisLink, KeyedQueue>();

/**
 * Runs `fn` while holding the admission lock of queue `name`. A
 * ClusterBusyError (503 cluster_busy) when the lock could not be had
 * within 5 s; a Redis failure is the connection's own error.
 */
export async function withAdmissionLock<T>(link: RedisLink, name: string, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + GIVE_UP_MS;
  let queue = turns.get(link);
  if (!queue) turns.set(link, (queue = new KeyedQueue()));
  return queue.run(name, async () => {
    const key = link.key("lock", "admit", name);
    const token = randomBytes(8).toString("hex");
    const redis = await link.commands();
    while ((await redis.set(key, token, "PX", LOCK_MS, "NX")) !== "OK") {
      if (Date.now() >= deadline) throw new ClusterBusyError(`the admission lock of ${name} stayed taken for ${GIVE_UP_MS} ms; retry later`);
      await new Promise((resolve) => setTimeout(resolve, SPIN_MS));
    }
    try {
      return await fn();
    } finally {
      await runScript(redis, UNLOCK, [key], [token]).catch(() => undefined);
    }
  });
}
