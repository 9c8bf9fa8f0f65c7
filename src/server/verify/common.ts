/**
 * Building blocks shared by the webhook verifiers: HMAC over raw bytes and a
 * constant-time "any of these candidates matches any of these expected
 * values" check that never exits early, so the time taken does not tell an
 * attacker which secret, which signature or how many bytes matched.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export type HmacAlgorithm = "sha1" | "sha256" | "sha512";

/** Request headers with lower-case names; repeated headers joined by ", ". */
export type HeaderMap = Readonly<Record<string, string | undefined>>;

export interface VerifyRequest {
  /** The raw request body, exactly as received. */
  body: Buffer;
  headers: HeaderMap;
}

export interface VerifyOptions {
  /** Every secret currently valid (the new one and the old one while rotating). */
  secrets: readonly string[];
  /** How old (or how far in the future) a signed timestamp may be; default 300 s. */
  toleranceSeconds?: number;
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number;
}

export type VerifyResult = { ok: true } | { ok: false; reason: string };

export const DEFAULT_TOLERANCE_SECONDS = 300;

export function hmac(algorithm: HmacAlgorithm, key: string | Buffer, ...parts: (string | Buffer)[]): Buffer {
  const mac = createHmac(algorithm, key);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

/**
 * True when any candidate equals any expected value. Every pair is compared
 * (no early exit), so the time does not tell which byte or which secret
 * differed. Pairs of unequal length compare the candidate with itself, only so
 * that no pair is skipped: a signature's length is public (fixed by its
 * algorithm), its content is what must not leak.
 */
export function anyEqual(candidates: readonly Buffer[], expected: readonly Buffer[]): boolean {
  let matched = 0;
  for (const candidate of candidates) {
    for (const value of expected) {
      const sameLength = candidate.length === value.length;
      const equal = timingSafeEqual(candidate, sameLength ? value : candidate);
      matched |= Number(sameLength && equal);
    }
  }
  return matched === 1;
}

/** Decodes a hex string; undefined when it is not well-formed hex. */
export function decodeHex(text: string): Buffer | undefined {
  if (text.length === 0 || text.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(text)) return undefined;
  return Buffer.from(text, "hex");
}

/** Decodes standard or URL-safe base64; undefined when it is not base64. */
export function decodeBase64(text: string): Buffer | undefined {
  if (text.length === 0 || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) return undefined;
  return Buffer.from(text, text.includes("-") || text.includes("_") ? "base64url" : "base64");
}

/** Checks a Unix timestamp (seconds, as text) against the clock. */
export function checkTimestamp(text: string | undefined, options: VerifyOptions): VerifyResult {
  if (!text || !/^\d{1,12}$/.test(text.trim())) return { ok: false, reason: "missing or malformed timestamp" };
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const nowSeconds = (options.now ?? Date.now)() / 1000;
  const age = nowSeconds - Number(text.trim());
  if (Math.abs(age) > tolerance) return { ok: false, reason: `timestamp outside the ${tolerance}s tolerance` };
  return { ok: true };
}

export function noSecrets(options: VerifyOptions): VerifyResult | undefined {
  return options.secrets.length === 0 ? { ok: false, reason: "no secret configured" } : undefined;
}
