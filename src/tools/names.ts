/**
 * Tool names: what models see must match ^[a-zA-Z0-9_-]{1,64}$ (the
 * OpenAI and Anthropic limit), while agent files use `SERVER.TOOL`.
 */
import { createHash } from "node:crypto";

export const EXPOSED_NAME_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;
const MAX_EXPOSED = 64;
const HASH_LENGTH = 8;

function shortHash(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, HASH_LENGTH);
}

/**
 * Maps any name to one models accept. A name that is already valid is kept
 * as is; a name that had to change gets a short hash of the original, so two
 * names that sanitise alike (`a.b`, `a_b`) still differ, and a name longer
 * than 64 characters is cut and ends with the hash. Deterministic.
 */
export function exposedName(name: string, identity: string = name): string {
  if (EXPOSED_NAME_PATTERN.test(name)) return name;
  const cleaned = name.replace(/[^a-zA-Z0-9_-]/g, "_") || "tool";
  const suffix = `_${shortHash(identity)}`;
  return cleaned.slice(0, MAX_EXPOSED - suffix.length) + suffix;
}

/** `SERVER__TOOL`, made valid by exposedName when needed. */
export function mcpExposedName(server: string, tool: string): string {
  return exposedName(`${server}__${tool}`, `${server}.${tool}`);
}

/** True when `name` could be an exposed name of one of `server`'s tools. */
export function couldBeExposedBy(server: string, name: string): boolean {
  const prefix = `${server.replace(/[^a-zA-Z0-9_-]/g, "_")}__`;
  // A cut name keeps at most 64 - 9 characters of `SERVER__TOOL`.
  return name.startsWith(prefix.slice(0, MAX_EXPOSED - HASH_LENGTH - 1));
}

/** Levenshtein distance, for "did you mean" hints. */
export function editDistance(a: string, b: string): number {
  const previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = previous[0]!;
    previous[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = previous[j]!;
      previous[j] = Math.min(above + 1, previous[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return previous[b.length]!;
}

/** The closest candidate within a third of the name's length, if any. */
export function closestName(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  const limit = Math.max(2, Math.floor(name.length / 3));
  for (const candidate of candidates) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance && distance <= limit) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}
