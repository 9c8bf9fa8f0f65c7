/**
 * What remains of an agent file the schema rejected: the rejected parts
 * left out, so cross-references in the rest are checked in the same run
 * (load.ts). Paths into what remains map back to paths into the file.
 */
import { isPlainObject } from "../util/json.js";
import { formatPath, type KeyPath, type PathSegment } from "./positions.js";
import { PARSE_ONCE, schemas, type AgentFile } from "./schema.js";

/** Names the file declares, valid or not: references to them are not typos. */
export function declaredNames(data: Record<string, unknown>): { nodes: string[]; tools: string[]; servers: string[] } {
  const graph = isPlainObject(data.graph) ? data.graph : {};
  const nodes = Array.isArray(graph.nodes) ? graph.nodes : [];
  return {
    nodes: nodes.flatMap((n) => (isPlainObject(n) && typeof n.id === "string" ? [n.id] : [])),
    tools: isPlainObject(data.tools) ? Object.keys(data.tools) : [],
    servers: isPlainObject(data.mcp_servers) ? Object.keys(data.mcp_servers) : [],
  };
}

/** Marks a list item left out, so indices in issues still match the file. */
const HOLE = Symbol("left out");

function compact(value: unknown): unknown {
  if (Array.isArray(value)) return value.filter((item) => item !== HOLE).map(compact);
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, compact(v)]));
  return value;
}

/** A path into the compacted data, as a path into the file. */
function originalPath(data: unknown, path: KeyPath): KeyPath {
  const out: PathSegment[] = [];
  let node = data;
  for (const segment of path) {
    let actual = segment;
    if (Array.isArray(node) && typeof segment === "number") {
      let seen = -1;
      actual = node.findIndex((item) => item !== HOLE && ++seen === segment);
      if (actual < 0) actual = segment;
    }
    out.push(actual);
    node = node !== null && typeof node === "object" ? (node as Record<string | number, unknown>)[actual] : undefined;
  }
  return out;
}

function removeAt(data: unknown, path: KeyPath): void {
  let target = data;
  for (const segment of path.slice(0, -1)) {
    if (target === null || typeof target !== "object") return;
    target = (target as Record<string | number, unknown>)[segment];
  }
  const last = path[path.length - 1];
  if (last === undefined) return;
  if (Array.isArray(target) && typeof last === "number") target[last] = HOLE;
  else if (isPlainObject(target)) delete target[String(last)];
}

/**
 * Leaves out what the schema rejected, a little more each pass (the bad
 * value, then the list item or map entry holding it), until the rest
 * parses. Returns undefined when nothing sound is left (e.g. no valid node).
 */
export function pruneInvalid(
  data: Record<string, unknown>,
  first: readonly { code: string; path: readonly PropertyKey[]; keys?: string[] }[],
): { file: AgentFile; toFilePath: (path: KeyPath) => KeyPath } | undefined {
  const copy = structuredClone(data);
  let issues = first;
  const widened = new Map<string, number>();
  for (let pass = 0; pass < 8; pass++) {
    const removals: KeyPath[] = [];
    for (const issue of issues) {
      const path = originalPath(copy, issue.path.filter((s): s is string | number => typeof s !== "symbol"));
      if (issue.code === "unrecognized_keys") {
        for (const key of issue.keys ?? []) removals.push([...path, key]);
        continue;
      }
      // Each time the same spot fails again, leave out one level more.
      const key = formatPath(path);
      const level = (widened.get(key) ?? 0) + 1;
      widened.set(key, level);
      removals.push(path.slice(0, Math.max(1, path.length - level + 1)));
    }
    for (const path of removals) removeAt(copy, path);
    // `name` is required, so leaving out a bad one would fail every pass and
    // hide the rest of the file's problems: check the rest under a stand-in.
    if (copy.name === undefined) copy.name = "unnamed";
    const result = schemas().AgentFileSchema.safeParse(compact(copy), PARSE_ONCE);
    if (result.success) return { file: result.data, toFilePath: (path) => originalPath(copy, path) };
    issues = result.error.issues as typeof issues;
  }
  return undefined;
}
