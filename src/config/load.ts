/**
 * Loading an agent file: read, parse YAML with positions, interpolate
 * `${VAR}`, validate against the schema, check cross-references, resolve
 * defaults. Every problem is collected with its line and column and
 * reported together, never only the first.
 */
import { dirname, resolve } from "node:path";
import type { Document, YAMLError } from "yaml";
import { yaml } from "./yaml.js";
import { DefinitionError, type DefinitionIssue } from "../errors.js";
import { interpolateDocument, type InterpolatedValue, type InterpolationResult } from "./interpolate.js";
import { documentLocator, formatPath, NO_POSITIONS, type KeyPath, type Locator } from "./positions.js";
import { declaredNames, pruneInvalid } from "./prune-invalid.js";
import { rememberProvenance } from "./provenance.js";
import { readAgentText } from "./read.js";
import { agentSecrets, resolveAgent } from "./resolve.js";
import { holdSecretsWhile, scrubValues } from "../logging/redact.js";
import { PARSE_ONCE, schemas, type Agent, type AgentFile } from "./schema.js";
import { semanticProblems } from "./semantic.js";
import { describeZodIssue, type SchemaProblem } from "./zod-issues.js";

/** Options of loadAgent, loadAgentSource and validateAgentFile. */
export interface LoadOptions {
  /** Variables for `${VAR}`; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Folder relative paths to the agent file resolve against; default process.cwd(). */
  cwd?: string;
  /**
   * An unset `${VAR}` with no default: an error (default; what run and
   * serve need), or a warning (what `validate` does, so a lint step needs
   * no secrets). With "warn" a file may be valid and still have no agent.
   */
  unsetEnv?: "error" | "warn";
  /**
   * @internal Called with the file's data once the YAML is parsed, before
   * the schema is built and checked: `run` starts a function worker from it,
   * so the thread's start-up overlaps validation instead of following it.
   */
  onData?: (data: Record<string, unknown>) => void;
}

/** What validateAgentFile found: the agent when the file is usable, and every issue. */
export interface ValidationOutcome {
  /** The loaded agent; absent when there are issues (or, with `unsetEnv: "warn"`, unset variables). */
  agent?: Agent;
  /** Every problem found; empty when the file is valid. */
  issues: DefinitionIssue[];
  /** Unset variables, when `unsetEnv` is "warn". */
  warnings?: DefinitionIssue[];
}

export { issueAt, setsRuntimeKey } from "./provenance.js";

function yamlErrorMessage(err: YAMLError, text: string): string {
  const first = err.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
  switch (err.code) {
    case "TAB_AS_INDENT":
      return "tabs are not allowed as indentation; indent with spaces";
    case "DUPLICATE_KEY": {
      const rest = text.slice(err.pos[0]);
      const key = /^("[^"]*"|'[^']*'|[^:\n]*?)\s*:/.exec(rest)?.[1]?.trim();
      return key ? `duplicate key ${key.startsWith('"') || key.startsWith("'") ? key : `"${key}"`}: each key may appear once in a map` : "duplicate key: each key may appear once in a map";
    }
    case "BAD_INDENT":
      return `bad indentation: ${first.charAt(0).toLowerCase()}${first.slice(1)}`;
    default:
      return `invalid YAML: ${first.charAt(0).toLowerCase()}${first.slice(1)}`;
  }
}

function setAt(data: unknown, path: KeyPath, value: unknown): void {
  let target = data as Record<string | number, unknown>;
  for (const segment of path.slice(0, -1)) target = target[segment] as Record<string | number, unknown>;
  target[path[path.length - 1]!] = value;
}

function samePath(a: KeyPath, b: readonly PropertyKey[]): boolean {
  return a.length === b.length && a.every((s, i) => s === b[i]);
}

/** An entry point without trigger_type is a manual one (SPEC 4.1, as in Hive). */
function normalize(data: Record<string, unknown>): void {
  const eps = data.entry_points;
  if (!Array.isArray(eps)) return;
  for (const ep of eps) {
    if (ep !== null && typeof ep === "object" && !Array.isArray(ep) && !("trigger_type" in ep)) {
      (ep as Record<string, unknown>).trigger_type = "manual";
    }
  }
}

/**
 * Schema validation that lets `${VAR}` values take the type the schema
 * wants: an interpolated "8080" stays a string unless a number is expected there.
 */
function parseWithCoercion(data: Record<string, unknown>, interpolated: InterpolatedValue[]) {
  let result = schemas().AgentFileSchema.safeParse(data, PARSE_ONCE);
  for (let pass = 0; pass < 3 && !result.success; pass++) {
    let changed = false;
    for (const issue of result.error.issues) {
      if (issue.code !== "invalid_type") continue;
      const hit = interpolated.find((v) => samePath(v.path, issue.path) && v.typed !== undefined);
      if (!hit) continue;
      const wanted = issue.expected === "int" ? "number" : issue.expected;
      if ((hit.typed === null && wanted === "null") || typeof hit.typed === wanted) {
        setAt(data, hit.path, hit.typed);
        changed = true;
      }
    }
    if (!changed) break;
    result = schemas().AgentFileSchema.safeParse(data, PARSE_ONCE);
  }
  return result;
}

interface CheckContext {
  file: string;
  sourcePath: string;
  baseDir: string;
  /** Check function module files on disk. */
  checkFiles: boolean;
  env: NodeJS.ProcessEnv;
  locator: Locator;
  unsetEnv?: "error" | "warn";
  onData?: (data: Record<string, unknown>) => void;
}

function toIssue(problem: SchemaProblem, ctx: CheckContext): DefinitionIssue {
  const where = ctx.locator.locate(problem.path, problem.target);
  return { file: ctx.file, line: where.line, col: where.col, path: formatPath(problem.path), message: problem.message };
}

/**
 * Validation of a parsed document (from text or from an object). The
 * secrets of a loaded agent are scrubbed from logs while the agent lives;
 * those of a file that fails are scrubbed from its problems here, since
 * nothing holds them afterwards.
 */
function checkDocument(doc: Document, ctx: CheckContext, yamlIssues: DefinitionIssue[]): ValidationOutcome {
  // When unset variables are only warnings, a stand-in keeps the value
  // non-empty, so checks like "a webhook route needs a secret" do not fire
  // for a secret that will be set where the agent runs.
  const interpolation = interpolateDocument(doc, ctx.env, ctx.unsetEnv === "warn" ? (name) => `unset-${name}` : undefined);
  const outcome = checkInterpolated(doc, interpolation, ctx, yamlIssues);
  if (outcome.agent || interpolation.secrets.length === 0) return outcome;
  const scrub = (issue: DefinitionIssue) => ({ ...issue, message: scrubValues(issue.message, interpolation.secrets) });
  return { ...outcome, issues: outcome.issues.map(scrub), ...(outcome.warnings ? { warnings: outcome.warnings.map(scrub) } : {}) };
}

function checkInterpolated(doc: Document, interpolation: InterpolationResult, ctx: CheckContext, yamlIssues: DefinitionIssue[]): ValidationOutcome {
  const lenient = ctx.unsetEnv === "warn";
  const problems: SchemaProblem[] = interpolation.problems.filter((p) => !(lenient && p.variable !== undefined));
  const warnings = lenient
    ? interpolation.problems.filter((p) => p.variable !== undefined).map((p) => toIssue({ path: p.path, message: `${p.message}; run and serve need it` }, ctx))
    : [];
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // e.g. an alias bomb past maxAliasCount: a problem with the file, not a crash.
    const message = err instanceof Error ? err.message : String(err);
    return { issues: [...yamlIssues, { file: ctx.file, line: 1, col: 1, path: "", message: `cannot read the YAML: ${message}` }] };
  }

  if (data === null || data === undefined) {
    return { issues: [...yamlIssues, { file: ctx.file, line: 1, col: 1, path: "", message: "the file is empty; expected an agent definition (a map with name and graph)" }] };
  }
  if (typeof data !== "object" || Array.isArray(data)) {
    const found = Array.isArray(data) ? "a list" : `${typeof data} ${JSON.stringify(data)}`;
    return { issues: [...yamlIssues, toIssue({ path: [], message: `expected an agent definition (a map with name and graph); found ${found}` }, ctx)] };
  }
  const record = data as Record<string, unknown>;
  normalize(record);
  ctx.onData?.(record);
  const parsed = parseWithCoercion(record, interpolation.values);
  let file: AgentFile | undefined;
  const fromUnset = new Set(interpolation.problems.filter((p) => p.variable !== undefined).map((p) => formatPath(p.path)));
  if (parsed.success) {
    file = parsed.data;
    // A stand-in value may fail a check of its own: the warning already explains it.
    problems.push(...semanticProblems(file, ctx.checkFiles ? { baseDir: ctx.baseDir } : {}).filter((p) => !(lenient && fromUnset.has(formatPath(p.path)))));
  } else {
    const reported = interpolation.problems.map((p) => formatPath(p.path));
    for (const issue of parsed.error.issues) {
      for (const problem of describeZodIssue(issue, record, schemas().AgentFileSchema)) {
        // A missing variable already explains why the value is wrong.
        if (!reported.includes(formatPath(problem.path))) problems.push(problem);
      }
    }
    // Cross-reference problems are reported in the same run: check what
    // remains of the file once the parts the schema rejected are left out.
    const partial = pruneInvalid(record, parsed.error.issues);
    if (partial) {
      const seen = new Set(problems.map((p) => formatPath(p.path)));
      const semantic = semanticProblems(partial.file, {
        ...(ctx.checkFiles ? { baseDir: ctx.baseDir } : {}),
        alsoKnown: declaredNames(record),
        partial: true,
      });
      for (const problem of semantic) {
        const path = partial.toFilePath(problem.path);
        if (!seen.has(formatPath(path))) problems.push({ ...problem, path });
      }
    }
  }
  const issues = [...yamlIssues, ...problems.map((p) => toIssue(p, ctx))];
  issues.sort((a, b) => a.line - b.line || a.col - b.col);
  // A value left empty by a missing variable may have made the file fail the
  // schema, with the problem itself dropped above: valid, but no agent to build.
  if (warnings.length > 0) return { issues, warnings };
  if (issues.length > 0 || !file) return { issues };
  const agent = resolveAgent(file, ctx.sourcePath, ctx.baseDir);
  holdSecretsWhile(agent, [...interpolation.secrets, ...agentSecrets(file)]);
  const runtime = record.runtime;
  rememberProvenance(agent, {
    file: ctx.file,
    locator: ctx.locator,
    runtimeKeys: new Set(runtime && typeof runtime === "object" ? Object.keys(runtime) : []),
  });
  return { agent, issues: [] };
}

function validateText(text: string, file: string, options: LoadOptions): ValidationOutcome {
  const cwd = options.cwd ?? process.cwd();
  const sourcePath = resolve(cwd, file);
  const lineCounter = new (yaml().LineCounter)();
  // `<<: *defaults` merge keys are allowed: a common way to share settings between entries.
  // logLevel error: yaml would otherwise print its own warnings (a collection used as a key) on stderr, past our one-line reporting.
  const doc = yaml().parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: true, merge: true, logLevel: "error" });
  const yamlIssues: DefinitionIssue[] = doc.errors.map((err) => {
    const pos = err.linePos?.[0] ?? lineCounter.linePos(err.pos[0]);
    return { file, line: pos.line, col: pos.col, path: "", message: yamlErrorMessage(err, text) };
  });
  // An alias to an anchor that does not exist (`*nope`) parses, but cannot be
  // turned into data: report it where it stands.
  yaml().visit(doc, {
    Alias(_key, node) {
      if (yaml().isAlias(node) && !node.resolve(doc)) {
        const pos = lineCounter.linePos(node.range?.[0] ?? 0);
        yamlIssues.push({ file, line: pos.line, col: pos.col, path: "", message: `unresolved alias *${node.source}: no anchor &${node.source} before it` });
      }
    },
  });
  if (yamlIssues.length > 0 && !doc.errors.length) return { issues: yamlIssues };
  // Past a syntax error the tree is a guess: report only what YAML found.
  // Duplicate keys leave a sound tree, so the rest of the file is checked too.
  if (doc.errors.some((err) => err.code !== "DUPLICATE_KEY")) return { issues: yamlIssues };
  const ctx: CheckContext = {
    file,
    sourcePath,
    baseDir: dirname(sourcePath),
    checkFiles: true,
    env: options.env ?? process.env,
    locator: documentLocator(doc, lineCounter),
    unsetEnv: options.unsetEnv,
    onData: options.onData,
  };
  return checkDocument(doc, ctx, yamlIssues);
}

/**
 * Validates agent file text without throwing. Synchronous: it touches the
 * disk only to check that function modules exist.
 */
export function validateAgentSource(text: string, options: LoadOptions & { path: string }): ValidationOutcome {
  return validateText(text, options.path, options);
}

/**
 * Loads agent file text (already read) into an Agent. Synchronous.
 * `path` names the file in issues and anchors relative paths.
 * Throws DefinitionError with every issue found.
 */
export function loadAgentSource(text: string, options: LoadOptions & { path: string }): Agent {
  const outcome = validateText(text, options.path, options);
  if (!outcome.agent) throw new DefinitionError(outcome.issues);
  return outcome.agent;
}

/** Reads and validates an agent file; never throws for problems in the file. */
export async function validateAgentFile(path: string, options: LoadOptions = {}): Promise<ValidationOutcome> {
  const full = resolve(options.cwd ?? process.cwd(), path);
  const read = await readAgentText(path, full);
  if ("issue" in read) return { issues: [read.issue] };
  return validateText(read.text, path, options);
}

/** Reads, validates and resolves an agent file. Throws DefinitionError with every issue found. */
export async function loadAgent(path: string, options: LoadOptions = {}): Promise<Agent> {
  const outcome = await validateAgentFile(path, options);
  if (!outcome.agent) throw new DefinitionError(outcome.issues);
  return outcome.agent;
}

/**
 * Builds an Agent from a plain object (the parsed form of an agent file),
 * with the same interpolation and checks. Issues carry line 0, col 0.
 * Function modules are checked on disk only when `baseDir` is given.
 */
export function agentFromObject(
  value: unknown,
  options: { baseDir?: string; sourcePath?: string; env?: NodeJS.ProcessEnv } = {},
): Agent {
  const sourcePath = options.sourcePath ? resolve(options.sourcePath) : "<inline>";
  const baseDir = options.baseDir ? resolve(options.baseDir) : options.sourcePath ? dirname(sourcePath) : process.cwd();
  const ctx: CheckContext = {
    file: options.sourcePath ?? "<inline>",
    sourcePath,
    baseDir,
    checkFiles: options.baseDir !== undefined || options.sourcePath !== undefined,
    // `${VAR}` in the object's strings is replaced as in a file.
    env: options.env ?? process.env,
    locator: NO_POSITIONS,
  };
  // Structured clone through a YAML document: the caller's object is never changed.
  const doc = new (yaml().Document)(value ?? null);
  const outcome = checkDocument(doc, ctx, []);
  if (!outcome.agent) throw new DefinitionError(outcome.issues);
  return outcome.agent;
}
