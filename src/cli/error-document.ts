/**
 * The JSON error document of SPEC 1: what a `--json` (or `--stream-json`)
 * command prints on stdout when it fails before it has a result, so a
 * pipeline reading stdout always gets JSON.
 */
import { DefinitionError, ForagerError } from "../errors.js";
import { exitCodeFor, oneLine } from "./report-error.js";

/** SPEC 1's three codes, plus `internal_error` for a failure that is none of them (exit 1). */
export type ErrorDocumentCode = "usage_error" | "definition_error" | "connection_error" | "internal_error";

export interface ErrorDocumentIssue {
  file: string;
  line: number;
  column: number;
  path: string;
  message: string;
}

export interface ErrorDocument {
  schema_version: 1;
  status: "error";
  success: false;
  error: { code: ErrorDocumentCode; message: string; issues: ErrorDocumentIssue[] };
}

/** The document for `err`: every error that exits 2 and is not a definition or connection error is a usage error. */
export function errorDocument(err: unknown): ErrorDocument {
  let code: ErrorDocumentCode = "internal_error";
  if (err instanceof DefinitionError) code = "definition_error";
  else if (err instanceof ForagerError && err.code === "connection_error") code = "connection_error";
  else if (exitCodeFor(err) === 2) code = "usage_error";
  const issues =
    err instanceof DefinitionError
      ? err.issues.map((i) => ({ file: i.file, line: i.line, column: i.col, path: i.path, message: i.message }))
      : [];
  const message = oneLine(err instanceof Error ? err.message : String(err));
  return { schema_version: 1, status: "error", success: false, error: { code, message, issues } };
}

/** The document as one line of JSON with its newline. */
export function errorDocumentLine(err: unknown): string {
  return `${JSON.stringify(errorDocument(err))}\n`;
}
