/**
 * Reads an agent file defensively: a missing file, a folder, a huge file or
 * a binary file each give one clear issue instead of a parser's confusion.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { DefinitionIssue } from "../errors.js";
import { closestMatch } from "../util/suggest.js";

/** Agent files are small; anything bigger is a mistake (a log, a binary). */
export const MAX_AGENT_FILE_BYTES = 1024 * 1024;

export type ReadOutcome = { text: string } | { issue: DefinitionIssue };

function formatSize(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} bytes`;
}

const YAML_FILE = /\.ya?ml$/i;

/** Folders looked at for "did you mean": the file's own and, one level down, its subfolders. */
const MAX_NEARBY_FOLDERS = 50;

/**
 * ` (did you mean "agents/x.yaml"?)`, or the YAML files that are there when
 * none is close: a missing agent file is most often a typo or a wrong folder.
 */
export async function nearbyAgentFiles(file: string, fullPath: string): Promise<string> {
  const folder = dirname(fullPath);
  const shown = dirname(file) === "." ? "" : dirname(file);
  const found: string[] = [];
  const list = async (dir: string, prefix: string, depth: number) => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    let folders = 0;
    for (const entry of entries) {
      if (entry.isFile() && YAML_FILE.test(entry.name)) found.push(prefix + entry.name);
      else if (entry.isDirectory() && depth > 0 && !entry.name.startsWith(".") && entry.name !== "node_modules" && folders++ < MAX_NEARBY_FOLDERS) {
        await list(join(dir, entry.name), `${prefix}${entry.name}/`, depth - 1);
      }
    }
  };
  await list(folder, shown ? `${shown}/` : "", 1);
  if (found.length === 0) return "";
  const byName = closestMatch(basename(file), found.map((f) => basename(f)));
  const match = closestMatch(file, found) ?? (byName === undefined ? undefined : found.find((f) => basename(f) === byName));
  if (match !== undefined) return ` (did you mean ${match}?)`;
  const here = found.filter((f) => !f.slice(shown ? shown.length + 1 : 0).includes("/")).slice(0, 5);
  return here.length > 0 ? ` (YAML files there: ${here.join(", ")})` : "";
}

export async function readAgentText(file: string, fullPath: string): Promise<ReadOutcome> {
  const issue = (message: string): ReadOutcome => ({ issue: { file, line: 1, col: 1, path: "", message } });
  // The file as a whole is the problem: no line or column to point at.
  const fileIssue = (message: string): ReadOutcome => ({ issue: { file, line: 0, col: 0, path: "", message } });
  let size: number;
  try {
    const info = await stat(fullPath);
    if (info.isDirectory()) return fileIssue("is a folder, not an agent file");
    size = info.size;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return fileIssue(`no such file${await nearbyAgentFiles(file, fullPath)}`);
    return fileIssue(`cannot read the file: ${(err as Error).message}`);
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
