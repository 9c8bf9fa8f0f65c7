import { didYouMean } from "./util/suggest.js";

/**
 * Every error forager raises on purpose is a ForagerError with a stable
 * `code`; the CLI maps codes to exit codes and prints `message` as one line.
 */
export class ForagerError extends Error {
  /** What went wrong, as a stable snake_case word (`definition_error`, `usage_error`, `not_found`, ...): branch on it, not on `message`. */
  readonly code: string;
  /** Optional hint printed after the message ("what to do next"). */
  readonly hint?: string;

  constructor(code: string, message: string, options: { cause?: unknown; hint?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ForagerError";
    this.code = code;
    this.hint = options.hint;
  }
}

/** Bad flags, bad input, unknown entry point: exit code 2. */
export class UsageError extends ForagerError {
  constructor(message: string, options: { cause?: unknown; hint?: string } = {}) {
    super("usage_error", message, options);
    this.name = "UsageError";
  }
}

/** One problem found in an agent file, with its position. */
export interface DefinitionIssue {
  /** The file as named to the loader (the path given, or "<inline>"). */
  file: string;
  /** 1-based line; 0 for the file as a whole or an object with no positions. */
  line: number;
  /** 1-based column; 0 with line 0. */
  col: number;
  /** Key path like `graph.edges[2].to`; empty for the whole document. */
  path: string;
  /** What is wrong, in plain words, with a suggestion when one is likely. */
  message: string;
}

/** One issue as `file:line:col path: message`, the form the CLI prints. */
export function formatIssue(issue: DefinitionIssue): string {
  // Line 0: the file as a whole (not found, unreadable) or an object with no positions.
  const where = issue.line > 0 ? `${issue.file}:${issue.line}:${issue.col}` : `${issue.file}:`;
  return issue.path ? `${where} ${issue.path}: ${issue.message}` : `${where} ${issue.message}`;
}

/** An agent file that cannot be used; carries every problem found at once. */
export class DefinitionError extends ForagerError {
  /** Every problem found; the message names the first. */
  readonly issues: DefinitionIssue[];

  constructor(issues: DefinitionIssue[]) {
    const first = issues[0];
    const summary = first ? formatIssue(first) : "invalid agent definition";
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : "";
    super("definition_error", summary + more);
    this.name = "DefinitionError";
    this.issues = issues;
  }
}

/** The control API could not be reached or refused us: exit code 2. */
export class ConnectionError extends ForagerError {
  constructor(message: string, options: { cause?: unknown; hint?: string } = {}) {
    super("connection_error", message, options);
    this.name = "ConnectionError";
  }
}

/** An operation was called in a lifecycle state that does not allow it. */
export class StateError extends ForagerError {
  constructor(message: string) {
    super("invalid_state", message);
    this.name = "StateError";
  }
}

/** The message of anything thrown. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * An option the library does not know, or of the wrong shape (a number
 * where an options object belongs): refused, never silently ignored.
 */
export class InvalidOptionError extends ForagerError {
  constructor(message: string) {
    super("invalid_option", message);
    this.name = "InvalidOptionError";
  }
}

/**
 * Checks an options argument: undefined, or a plain object whose keys are
 * all in `known`. `what` names the argument in the message
 * (`waitForCompletion options`).
 */
export function checkOptions(what: string, value: unknown, known: readonly string[]): void {
  if (value === undefined) return;
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    const got = Array.isArray(value) ? "a list" : value === null ? "null" : `the ${typeof value} ${JSON.stringify(value)}`;
    throw new InvalidOptionError(`${what} must be an object (keys: ${known.join(", ")}); got ${got}`);
  }
  const unknown = Object.keys(value).filter((key) => !known.includes(key));
  if (unknown.length > 0) {
    const names = unknown.map((key) => `"${key}"${didYouMean(key, known)}`).join(", ");
    throw new InvalidOptionError(`${what}: unknown option${unknown.length > 1 ? "s" : ""} ${names}; known: ${known.join(", ")}`);
  }
}
