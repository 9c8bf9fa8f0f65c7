/**
 * The short per-entry-point lock admission decides under
 * (`<prefix>:lock:admit:<queue>`, DISTRIBUTED §4.1): `SET NX PX`, spinning
 * briefly while another node holds it, released by compare-and-delete so a
 * lock that lapsed and was taken by another node is never freed by us.
 */
import { randomBytes } from "node:crypto";
import type { RedisLink } from "../../storage/redis/connection.js";
import { RedisUnavailableError } from "../../storage/redis/connection.js";
import { runScript, UNLOCK } from "./lua.js";

const LOCK_MS = 5_000;
const SPIN_MS = 2;
const GIVE_UP_MS = 2_000;

/** Runs `fn` while holding the admission lock of queue `name`; a RedisUnavailableError when the lock stays taken for 2 s. */
export async function withAdmissionLock<T>(link: RedisLink, name: string, fn: () => Promise<T>): Promise<T> {
  const key = link.key("lock", "admit", name);
  const token = randomBytes(8).toString("hex");
  const redis = await link.commands();
  const deadline = Date.now() + GIVE_UP_MS;
  while ((await redis.set(key, token, "PX", LOCK_MS, "NX")) !== "OK") {
    if (Date.now() >= deadline) throw new RedisUnavailableError(`the admission lock of ${name} stayed taken for ${GIVE_UP_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, SPIN_MS));
  }
  try {
    return await fn();
  } finally {
    await runScript(redis, UNLOCK, [key], [token]).catch(() => undefined);
  }
}
