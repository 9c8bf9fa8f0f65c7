/**
 * "Did you mean ...?" for typos in keys and ids: the closest candidate by
 * Damerau-Levenshtein distance (optimal string alignment), compared without
 * case. Only close matches are offered; a far-off guess is worse than none.
 */

/** Edit distance counting insertions, deletions, substitutions and adjacent swaps. */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;
  // Three rolling rows are enough for the transposition case.
  let prevPrev: number[] = new Array<number>(b.length + 1).fill(0);
  let prev: number[] = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row: number[] = new Array<number>(b.length + 1);
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, prevPrev[j - 2]! + 1);
      }
      row[j] = best;
    }
    prevPrev = prev;
    prev = row;
  }
  return prev[b.length]!;
}

/** How many edits still count as "close" for a word of this length. */
function threshold(length: number): number {
  if (length <= 3) return 1;
  if (length <= 6) return 2;
  return 3;
}

/** The closest candidate to `word`, or undefined when none is close enough. */
export function closestMatch(word: string, candidates: Iterable<string>): string | undefined {
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    if (candidate === word) continue;
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  if (best === undefined) return undefined;
  // A suggestion must keep something of the word: "c" is not a typo of "b".
  return bestDistance <= threshold(Math.max(word.length, best.length)) && bestDistance < Math.min(word.length, best.length)
    ? best
    : undefined;
}

/**
 * The closest candidate, or else the candidate one of whose words (split at
 * `_` and `-`) is close: "sucess" finds "on_success", "failure" finds
 * "on_failure". For fixed values, where a user often types only the word that
 * matters; a word shared by two candidates suggests neither.
 */
export function closestValue(word: string, candidates: readonly string[]): string | undefined {
  const direct = closestMatch(word, candidates);
  if (direct !== undefined) return direct;
  const owners = new Map<string, string | null>();
  for (const candidate of candidates) {
    for (const part of candidate.toLowerCase().split(/[_-]/)) {
      if (part.length < 3 || part === candidate.toLowerCase()) continue;
      const owner = owners.get(part);
      owners.set(part, owner === undefined || owner === candidate ? candidate : null);
    }
  }
  const lower = word.toLowerCase();
  const exact = owners.get(lower);
  if (exact) return exact;
  const part = closestMatch(lower, [...owners.keys()]);
  return part === undefined ? undefined : (owners.get(part) ?? undefined);
}

/** ` (did you mean "x"?)` or an empty string; ready to append to a message. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const match = closestMatch(word, candidates);
  return match === undefined ? "" : ` (did you mean "${match}"?)`;
}
