/**
 * Maps key paths (`["graph", "edges", 2, "to"]`) to line:col in the agent
 * file, through the YAML AST, so every issue can say where it is.
 */
import type { Document, LineCounter, Node } from "yaml";
import { yaml } from "./yaml.js";

export type PathSegment = string | number;
export type KeyPath = readonly PathSegment[];

export interface Position {
  line: number;
  col: number;
}

/** Finds positions for paths; `target: "key"` points at a map key instead of its value. */
export interface Locator {
  locate(path: KeyPath, target?: "value" | "key"): Position;
}

/** For objects built in code: no file, no positions. */
export const NO_POSITIONS: Locator = { locate: () => ({ line: 0, col: 0 }) };

/** `graph.edges[2].to`: the form every issue message uses. */
export function formatPath(path: KeyPath): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(segment)) out += out ? `.${segment}` : segment;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

function keyText(key: unknown): string | undefined {
  if (yaml().isScalar(key)) return String(key.value);
  return undefined;
}

export function documentLocator(doc: Document, lineCounter: LineCounter): Locator {
  const at = (offset: number | undefined): Position =>
    offset === undefined ? { line: 1, col: 1 } : lineCounter.linePos(offset);
  return {
    locate(path, target = "value") {
      let node: unknown = doc.contents;
      // The last node found: a missing key is reported on the map that lacks it.
      let best: number | undefined = (doc.contents as Node | null)?.range?.[0];
      for (let i = 0; i < path.length; i++) {
        const segment = path[i]!;
        const last = i === path.length - 1;
        if (yaml().isMap(node)) {
          const pair = node.items.find((item) => yaml().isPair(item) && keyText(item.key) === String(segment));
          if (!pair) break;
          const keyNode = pair.key as Node | null;
          const valueNode = pair.value as Node | null;
          if (last && target === "key" && keyNode?.range) return at(keyNode.range[0]);
          // A key with no value (`to:`) has no value range: use the key's.
          best = valueNode?.range?.[0] ?? keyNode?.range?.[0] ?? best;
          node = valueNode;
        } else if (yaml().isSeq(node) && typeof segment === "number") {
          const item = node.items[segment] as Node | undefined;
          if (!item) break;
          best = item.range?.[0] ?? best;
          node = item;
        } else {
          break;
        }
      }
      return at(best);
    },
  };
}
