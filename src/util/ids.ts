import { randomFillSync } from "node:crypto";

// Ids are made for every event on the hot path; one call to the system's
// random source per id costs more than everything else about the event.
// Draw random bytes in blocks and hand them out.
const POOL_SIZE = 4096;
const pool = Buffer.alloc(POOL_SIZE);
let poolOffset = POOL_SIZE;

/** `size` cryptographically random bytes, served from a refilled pool. */
export function randomBytesPooled(size: number): Buffer {
  if (size > POOL_SIZE) return randomFillSync(Buffer.alloc(size));
  if (poolOffset + size > POOL_SIZE) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const out = Buffer.from(pool.subarray(poolOffset, poolOffset + size));
  poolOffset += size;
  return out;
}

// Crockford base32, as used by ULIDs: sortable by time, no ambiguous letters.
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** A ULID: 48 bits of milliseconds then 80 random bits, 26 characters. */
export function ulid(now: number = Date.now()): string {
  let time = "";
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const bytes = randomBytesPooled(16);
  let rand = "";
  for (let i = 0; i < 16; i++) rand += ALPHABET[bytes[i]! % 32];
  return time + rand;
}

export function newExecutionId(now?: number): string {
  return `exec_${ulid(now)}`;
}

export function newEventId(now?: number): string {
  return `evt_${ulid(now)}`;
}

/** `session_YYYYMMDD_HHMMSS_<8 hex>` in UTC, the session id shape of the seed. */
export function newSessionId(now: number = Date.now()): string {
  const d = new Date(now);
  const pad = (n: number) => String(n).padStart(2, "0");
  const date = `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}`;
  const time = `${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}`;
  return `session_${date}_${time}_${randomBytesPooled(4).toString("hex")}`;
}

// What a name or id taken from outside (an HTTP path or query) may look
// like before it is ever joined into a file path: agent names as the config
// schema allows them, ids as forager makes them (`exec_…`, `session_…`,
// `evt_…`) or as entry point / source ids are written. No separator, no
// leading dot, bounded length: such a value can never leave its folder.
const AGENT_NAME = /^[a-z0-9][a-z0-9_-]{0,127}$/;
const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** True for a string shaped like an agent name (`^[a-z0-9][a-z0-9_-]*$`, at most 128 characters). */
export function isAgentName(value: string): boolean {
  return AGENT_NAME.test(value);
}

/** True for a string shaped like a forager id (letters, digits, `_`, `-`, `.`; starts with a letter or digit; at most 128 characters). */
export function isSafeId(value: string): boolean {
  return ID.test(value);
}
