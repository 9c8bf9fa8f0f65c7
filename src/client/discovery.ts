/**
 * Finding a running `forager serve`: `--url` + `--token`, else
 * `FORAGER_URL` + `FORAGER_TOKEN`, else `<storage>/serve.json` with storage
 * from `--storage`, `FORAGER_STORAGE` or `./storage` (SPEC 1).
 */
import { readFile } from "node:fs/promises";
import { isAbsolute, join, resolve } from "node:path";
import { ConnectionError } from "../errors.js";
import { processAlive } from "../util/process.js";

export interface DiscoveryOptions {
  url?: string;
  token?: string;
  storage?: string;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export interface ServerTarget {
  url: string;
  token?: string;
  /** Where the target came from, for error messages. */
  source: "flags" | "env" | "serve.json";
  /** The pid recorded in serve.json. */
  pid?: number;
}

export const START_HINT =
  "start one with `forager serve agent.yaml`, point at its storage with --storage DIR (or FORAGER_STORAGE), or pass --url/--token (or FORAGER_URL/FORAGER_TOKEN)";

export function noServerError(reason: string): ConnectionError {
  return new ConnectionError(`no running forager serve found (${reason}); ${START_HINT}`);
}

export function storageDir(options: Pick<DiscoveryOptions, "storage" | "env" | "cwd">): string {
  const chosen = nonEmpty(options.storage) ?? nonEmpty(options.env.FORAGER_STORAGE) ?? "./storage";
  return isAbsolute(chosen) ? resolve(chosen) : resolve(options.cwd, chosen);
}

export async function discoverServer(options: DiscoveryOptions): Promise<ServerTarget> {
  const flagUrl = nonEmpty(options.url);
  if (flagUrl) return { url: trimSlash(flagUrl), token: nonEmpty(options.token) ?? nonEmpty(options.env.FORAGER_TOKEN), source: "flags" };
  const envUrl = nonEmpty(options.env.FORAGER_URL);
  if (envUrl) return { url: trimSlash(envUrl), token: nonEmpty(options.token) ?? nonEmpty(options.env.FORAGER_TOKEN), source: "env" };

  const file = join(storageDir(options), "serve.json");
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw noServerError(code === "ENOENT" ? `no ${file}` : `cannot read ${file}: ${code ?? String(err)}`);
  }
  let info: { url?: unknown; token?: unknown; pid?: unknown };
  try {
    info = JSON.parse(text) as typeof info;
  } catch {
    throw noServerError(`${file} is not valid JSON`);
  }
  if (typeof info.url !== "string" || typeof info.token !== "string") throw noServerError(`${file} has no url and token`);
  const pid = typeof info.pid === "number" ? info.pid : undefined;
  if (pid !== undefined && !processAlive(pid)) throw noServerError(`${file} names pid ${pid}, which is not running`);
  return { url: trimSlash(info.url), token: nonEmpty(options.token) ?? info.token, source: "serve.json", pid };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, "");
}
