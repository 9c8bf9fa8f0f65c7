/**
 * GitHub Actions workflow commands and files beyond the step summary:
 * file/line annotations for `validate`, step outputs for `run`
 * (`$GITHUB_OUTPUT`) and folded log groups.
 */
import { randomBytes } from "node:crypto";
import { appendFile } from "node:fs/promises";
import { isAbsolute, relative, sep } from "node:path";
import type { DefinitionIssue } from "../errors.js";

/** Escapes a workflow command's message: `%`, CR and LF. */
function escapeData(text: string): string {
  return text.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}

/** Escapes a workflow command's property value: also `:` and `,`, which delimit properties. */
function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, "%3A").replace(/,/g, "%2C");
}

/** The path GitHub links an annotation to: relative to the workspace when the file is inside it. */
export function annotationPath(file: string, env: NodeJS.ProcessEnv): string {
  const workspace = env.GITHUB_WORKSPACE;
  if (!workspace || !isAbsolute(file)) return file;
  const rel = relative(workspace, file);
  return rel.startsWith("..") || isAbsolute(rel) ? file : rel.split(sep).join("/");
}

/** `::error file=...,line=...,col=...::message` (or `::warning`) for one problem of an agent file. */
export function issueAnnotation(issue: DefinitionIssue, level: "error" | "warning", env: NodeJS.ProcessEnv): string {
  const message = issue.path ? `${issue.path}: ${issue.message}` : issue.message;
  const props = `file=${escapeProperty(annotationPath(issue.file, env))},line=${issue.line},col=${issue.col}`;
  return `::${level} ${props}::${escapeData(message)}`;
}

/** A delimiter found in none of the values: a value can never end its own heredoc. */
function delimiterFor(values: string[]): string {
  for (;;) {
    const candidate = `ghadelimiter_${randomBytes(12).toString("hex")}`;
    if (!values.some((v) => v.includes(candidate))) return candidate;
  }
}

/**
 * The `$GITHUB_OUTPUT` text for `outputs`: each as `name<<DELIM`, the value,
 * `DELIM`, which holds values of any number of lines.
 */
export function formatStepOutputs(outputs: Record<string, string>): string {
  const delimiter = delimiterFor(Object.values(outputs));
  return Object.entries(outputs)
    .map(([name, value]) => `${name}<<${delimiter}\n${value}\n${delimiter}\n`)
    .join("");
}

/** Appends step outputs to `$GITHUB_OUTPUT`; nothing when the variable is unset. */
export async function writeStepOutputs(env: NodeJS.ProcessEnv, outputs: Record<string, string>): Promise<void> {
  const file = env.GITHUB_OUTPUT;
  if (!file) return;
  await appendFile(file, formatStepOutputs(outputs), "utf8");
}

/** `::group::title`: the log lines until `::endgroup::` are folded in the job log. */
export function groupStart(title: string): string {
  return `::group::${escapeData(title)}`;
}

export const GROUP_END = "::endgroup::";
