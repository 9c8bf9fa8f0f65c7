/**
 * How deep a JSON text nests, found by one linear scan of the raw bytes and
 * no recursion, before JSON.parse ever sees it: a client sending 10 000
 * nested arrays must get a 400, not a stack overflow somewhere later (in a
 * CEL filter, a structured clone, a recursive walk of the payload).
 */

/** The deepest nesting either listener accepts (SPEC 5). */
export const MAX_JSON_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;

/**
 * True when `bytes` opens more than `maxDepth` arrays/objects inside each
 * other. Brackets inside strings do not count (escapes are honoured); the
 * text need not be valid JSON (JSON.parse judges that afterwards).
 */
export function jsonDepthExceeds(bytes: Uint8Array, maxDepth: number = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (inString) {
      if (b === BACKSLASH) i++;
      else if (b === QUOTE) inString = false;
    } else if (b === QUOTE) {
      inString = true;
    } else if (b === OPEN_BRACE || b === OPEN_BRACKET) {
      if (++depth > maxDepth) return true;
    } else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
      depth--;
    }
  }
  return false;
}
