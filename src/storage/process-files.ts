/**
 * The process groups a session's tools are running, one small file each in
 * the session folder (`process-<pid>.json`), written atomically when a tool
 * starts its program and removed once the program is reaped. Files left by
 * a crash name the groups to stop at the next start.
 */
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../logging/index.js";
import { reapProcessGroup, type ProcessGroupRecord } from "../util/process-groups.js";
import { readJsonFile, writeJsonAtomic } from "./atomic.js";

const PROCESS_FILE = /^process-(\d+)\.json$/;

function processFile(sessionDir: string, pid: number): string {
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`not a process id: ${pid}`);
  return join(sessionDir, `process-${pid}.json`);
}

export function writeProcessFile(sessionDir: string, group: ProcessGroupRecord): Promise<void> {
  return writeJsonAtomic(processFile(sessionDir, group.pid), group);
}

export async function removeProcessFile(sessionDir: string, pid: number): Promise<void> {
  await rm(processFile(sessionDir, pid), { force: true });
}

/**
 * Kills what is left of the groups recorded in a session folder (only those
 * still ours, see reapProcessGroup), logs one line per group killed and
 * removes the files. Returns the pgids killed.
 */
export async function reapSessionProcesses(sessionDir: string, logger: Pick<Logger, "warn">, ids: Record<string, string>): Promise<number[]> {
  let names: string[];
  try {
    names = await readdir(sessionDir);
  } catch {
    return [];
  }
  const killed: number[] = [];
  for (const name of names) {
    if (!PROCESS_FILE.test(name)) continue;
    const path = join(sessionDir, name);
    const group = await readJsonFile<ProcessGroupRecord>(path).catch(() => undefined);
    if (group && reapProcessGroup(group)) {
      killed.push(group.pgid);
      logger.warn({ ...ids, pgid: group.pgid }, `killed process group ${group.pgid} left running by an interrupted execution`);
    }
    await rm(path, { force: true });
  }
  return killed;
}
