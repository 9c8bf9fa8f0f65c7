/**
 * Every error forager raises on purpose is a ForagerError with a stable
 * `code`; the CLI maps codes to exit codes and prints `message` as one line.
 */
export class ForagerError extends Error {
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
  file: string;
  line: number;
  col: number;
  /** Key path like `graph.edges[2].to`; empty for the whole document. */
  path: string;
  message: string;
}

export function formatIssue(issue: DefinitionIssue): string {
  // Line 0: the file as a whole (not found, unreadable) or an object with no positions.
  const where = issue.line > 0 ? `${issue.file}:${issue.line}:${issue.col}` : `${issue.file}:`;
  return issue.path ? `${where} ${issue.path}: ${issue.message}` : `${where} ${issue.message}`;
}

/** An agent file that cannot be used; carries every problem found at once. */
export class DefinitionError extends ForagerError {
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

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
