/** The control API's bearer token: generated or given, compared in constant time. */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/** `FORAGER_TOKEN` when set, else 32 random bytes as hex. */
export function resolveToken(env: NodeJS.ProcessEnv): string {
  const given = env.FORAGER_TOKEN?.trim();
  return given ? given : randomBytes(32).toString("hex");
}

/**
 * True when the Authorization header carries exactly this token. Both sides
 * are hashed first so the comparison runs over equal lengths whatever was sent.
 */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const match = header ? /^Bearer\s+(.+)$/i.exec(header.trim()) : null;
  const given = createHash("sha256").update(match ? match[1]! : "").digest();
  const expected = createHash("sha256").update(token).digest();
  return timingSafeEqual(given, expected) && match !== null;
}
