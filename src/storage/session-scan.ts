/**
 * Reading the session folders themselves, for what the per-agent indexes
 * (session-index.ts) do not know: the agents on disk, the records of one
 * session folder. The file session store (sessions.ts) uses these when it
 * recovers an index or looks for a record no index lists.
 */
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../logging/index.js";
import type { ExecutionRecord } from "../result.js";
import { isTempFileName, readJsonFile } from "./atomic.js";

// Agent names are lower-case words (config schema); anything else in the root
// (`_keys`, `serve.json`) is not an agent.
const AGENT_DIR = /^[a-z0-9][a-z0-9_-]*$/;
const RECORD_FILE = /^exec_.+\.json$/;

/** The agent folders under the storage root, sorted; none when the root does not exist. */
export async function agentFolders(root: string): Promise<string[]> {
  let names: import("node:fs").Dirent[];
  try {
    names = await readdir(root, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  return names.filter((d) => d.isDirectory() && AGENT_DIR.test(d.name)).map((d) => d.name);
}

/** Every execution record in one session folder; an unreadable one is skipped with a warning. */
export async function readRecordsIn(dir: string, logger: Pick<Logger, "warn">, where: { agent: string; session_id: string }): Promise<ExecutionRecord[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return [];
    throw err;
  }
  const records: ExecutionRecord[] = [];
  for (const name of names) {
    if (!RECORD_FILE.test(name) || isTempFileName(name)) continue;
    try {
      const record = await readJsonFile<ExecutionRecord>(join(dir, name));
      if (record) records.push(record);
    } catch (err) {
      logger.warn({ ...where, file: name, err }, "skipped an unreadable execution record");
    }
  }
  return records;
}
