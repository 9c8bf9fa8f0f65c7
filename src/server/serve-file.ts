/**
 * `<storage>/serve.json`: how `trigger`, `stats` and the timer commands find
 * a running server. Written atomically with mode 0600 (it holds the token).
 */
import { randomBytes } from "node:crypto";
import { open, readFile, rename, unlink } from "node:fs/promises";
import { join } from "node:path";

export const SERVE_FILE = "serve.json";

export interface ServeInfo {
  pid: number;
  url: string;
  token: string;
  started_at: string;
  agents: string[];
  webhook_url?: string;
}

export function serveFilePath(storagePath: string): string {
  return join(storagePath, SERVE_FILE);
}

export async function writeServeFile(storagePath: string, info: ServeInfo): Promise<string> {
  const path = serveFilePath(storagePath);
  const temp = `${path}.${randomBytes(4).toString("hex")}.tmp`;
  const handle = await open(temp, "wx", 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(info, null, 2)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, path);
  return path;
}

/** Removes serve.json if it still describes this process. */
export async function removeServeFile(storagePath: string, pid: number = process.pid): Promise<void> {
  const path = serveFilePath(storagePath);
  try {
    const info = JSON.parse(await readFile(path, "utf8")) as Partial<ServeInfo>;
    if (info.pid !== pid) return;
  } catch {
    return;
  }
  await unlink(path).catch(() => {});
}
