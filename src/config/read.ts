/**
 * Reads an agent file defensively: a missing file, a folder, a huge file or
 * a binary file each give one clear issue instead of a parser's confusion.
 */
import { readFile, stat } from "node:fs/promises";
import type { DefinitionIssue } from "../errors.js";

/** Agent files are small; anything bigger is a mistake (a log, a binary). */
export const MAX_AGENT_FILE_BYTES = 1024 * 1024;

export type ReadOutcome = { text: string } | { issue: DefinitionIssue };

function formatSize(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} bytes`;
}

export async function readAgentText(file: string, fullPath: string): Promise<ReadOutcome> {
  const issue = (message: string): ReadOutcome => ({ issue: { file, line: 1, col: 1, path: "", message } });
  let size: number;
  try {
    const info = await stat(fullPath);
    if (info.isDirectory()) return issue("is a folder, not an agent file");
    size = info.size;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return issue(`file not found: ${fullPath}`);
    return issue(`cannot read the file: ${(err as Error).message}`);
  }
  // Checked before reading, so a 5 GB mistake costs nothing.
  if (size > MAX_AGENT_FILE_BYTES) {
    return issue(`the file is ${formatSize(size)}; agent files are limited to ${formatSize(MAX_AGENT_FILE_BYTES)}`);
  }
  let bytes: Buffer;
  try {
    bytes = await readFile(fullPath);
  } catch (err) {
    return issue(`cannot read the file: ${(err as Error).message}`);
  }
  return decodeAgentText(bytes, file);
}

/** UTF-8 text or an issue saying the content is binary. */
export function decodeAgentText(bytes: Uint8Array, file: string): ReadOutcome {
  const binary = (): ReadOutcome => ({
    issue: { file, line: 1, col: 1, path: "", message: "not a text file (binary content); expected a YAML agent file in UTF-8" },
  });
  if (bytes.includes(0)) return binary();
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return { text: text.charCodeAt(0) === 0xfeff ? text.slice(1) : text };
  } catch {
    return binary();
  }
}
