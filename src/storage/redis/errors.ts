/**
 * How a Redis store reports a failure: a Redis that cannot be reached (or
 * does not answer in time) becomes a RedisUnavailableError (code
 * redis_unavailable, 503 at the HTTP layer); anything else is passed on as
 * it is, since it means a bug or bad data rather than an outage.
 */
import { errorMessage } from "../../errors.js";
import { RedisUnavailableError, isRedisUnavailable, type RedisLink } from "./connection.js";

export function asRedisError(err: unknown, what: string): unknown {
  if (err instanceof RedisUnavailableError) return err;
  if (isRedisUnavailable(err)) return new RedisUnavailableError(`Redis did not answer (${what}): ${errorMessage(err)}`, { cause: err });
  return err;
}

/** Runs `fn` with the link's command connection, every failure mapped by asRedisError. */
export async function withRedis<T>(link: RedisLink, what: string, fn: (client: import("ioredis").Redis) => Promise<T>): Promise<T> {
  try {
    return await fn(await link.commands());
  } catch (err) {
    throw asRedisError(err, what);
  }
}
