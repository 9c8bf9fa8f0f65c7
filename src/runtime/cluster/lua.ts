/**
 * The Lua scripts of the cluster's own Redis structures (DISTRIBUTED §4.1,
 * §4.2) and the one way they are run: EVALSHA, with EVAL when the server
 * does not know the script yet (a restart forgets them). Every script reads
 * time with Redis `TIME`, never a node's clock.
 */
import type { Redis } from "ioredis";
import { LuaScript } from "../../storage/redis/script.js";

export type Script = LuaScript;

function script(source: string): Script {
  return new LuaScript(source);
}

const NOW = `local t = redis.call('TIME'); local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * A fair semaphore (KEYS: leases, tickets, waiter deadlines, ticket counter,
 * fence counter; ARGV: holder, max, lease ms, waiter ttl ms). Purges lapsed
 * leases and waiters that stopped asking, then grants when a slot is free
 * and the holder's ticket is among the first `free` waiters (FIFO).
 * Returns {1, fence} when granted (also to a holder that already holds:
 * a retried call after a lost reply), else {0, 0}.
 */
export const ACQUIRE = script(`${NOW}
local leases, tickets, seen, counter, fences = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local holder, max, lease, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', leases, '-inf', now)
local gone = redis.call('ZRANGEBYSCORE', seen, '-inf', now)
if #gone > 0 then
  redis.call('ZREM', tickets, unpack(gone))
  redis.call('ZREM', seen, unpack(gone))
end
if redis.call('ZSCORE', leases, holder) then
  redis.call('ZADD', leases, now + lease, holder)
  return {1, tonumber(redis.call('GET', fences) or '0')}
end
if not redis.call('ZSCORE', tickets, holder) then
  redis.call('ZADD', tickets, redis.call('INCR', counter), holder)
end
redis.call('ZADD', seen, now + ttl, holder)
local free = max - redis.call('ZCARD', leases)
if free > 0 and redis.call('ZRANK', tickets, holder) < free then
  redis.call('ZREM', tickets, holder)
  redis.call('ZREM', seen, holder)
  redis.call('ZADD', leases, now + lease, holder)
  return {1, redis.call('INCR', fences)}
end
return {0, 0}`);

/** Extends a held lease (KEYS: leases; ARGV: holder, lease ms): 1, or 0 when the holder no longer holds. */
export const RENEW = script(`${NOW}
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
  return 1
end
return 0`);

/**
 * Gives up a lease or a place in line (KEYS: leases, tickets, waiter
 * deadlines; ARGV: holder, channel, message) and tells waiting nodes a slot
 * may be free. Returns 1 when the holder held a lease.
 */
export const RELEASE = script(`local held = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
if held == 1 then redis.call('PUBLISH', ARGV[2], ARGV[3]) end
return held`);

/** Deletes a lock only while it still holds the caller's token (KEYS: lock; ARGV: token). */
export const UNLOCK = script(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`);

/** Runs a script by its hash, sending its source only when Redis does not have it (LuaScript.run). */
export function runScript(client: Redis, s: Script, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
  return s.run(client, keys, args);
}
