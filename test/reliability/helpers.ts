/**
 * Shared pieces of the reliability suite: a `forager serve` child process
 * with its discovery file, signed webhook deliveries, a bounded-concurrency
 * pool, a seeded PRNG and a walk over everything written to disk.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createHmac } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { binPath, repoRoot } from "../helpers/cli.js";
import type { ErrorBody, LogLine, WebhookBody } from "../helpers/api-types.js";
import { sourceDir } from "../helpers/paths.js";

export const FIXTURES = join(sourceDir(import.meta.url), "fixtures");
export const LOAD_AGENT = join(FIXTURES, "load.yaml");
export const HOOK_SECRET = "reliability-hook-secret-7f3a9c";

export interface ServeInfo {
  pid: number;
  url: string;
  token: string;
  webhook_url?: string;
  agents: string[];
}

export interface ServeProcess {
  child: ChildProcess;
  info: ServeInfo;
  storage: string;
  stderr(): string;
  stdout(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** GET/POST on the control API with the bearer token. */
  control(path: string, init?: RequestInit): Promise<Response>;
  kill(signal?: NodeJS.Signals): void;
}

export function serveEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? "/tmp",
    NO_COLOR: "1",
    LOG_FORMAT: "json",
    LOG_LEVEL: "info",
    HOOK_SECRET,
    ...extra,
  };
}

/** Spawns `forager serve` and waits for its serve.json. */
export async function startServe(
  storage: string,
  options: { files?: string[]; env?: Record<string, string>; /** `ulimit -n` for the child. */ openFiles?: number } = {},
): Promise<ServeProcess> {
  const files = options.files ?? [LOAD_AGENT];
  const args = [binPath, "serve", ...files, "--storage", storage];
  // bash sets the limit and then becomes node (exec): the pid stays the same.
  const [command, argv] =
    options.openFiles === undefined
      ? [process.execPath, args]
      : ["bash", ["-c", `ulimit -n ${options.openFiles} && exec "$0" "$@"`, process.execPath, ...args]];
  const child = spawn(command, argv, {
    cwd: repoRoot,
    env: serveEnv(options.env),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  let stdout = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  const file = join(storage, "serve.json");
  const deadline = Date.now() + 20_000;
  let info: ServeInfo | undefined;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`serve exited early (${child.exitCode}): ${stderr}`);
    if (existsSync(file)) {
      try {
        const parsed = JSON.parse(await readFile(file, "utf8")) as ServeInfo;
        if (parsed.pid === child.pid) {
          info = parsed;
          break;
        }
      } catch {
        // being written
      }
    }
    await sleep(25);
  }
  if (!info) {
    child.kill("SIGKILL");
    throw new Error(`serve did not write serve.json within 20 s: ${stderr}`);
  }
  const ready = info;
  return {
    child,
    info: ready,
    storage,
    stderr: () => stderr,
    stdout: () => stdout,
    exited,
    control: (path, init = {}) =>
      fetch(`${ready.url}${path}`, { ...init, headers: { authorization: `Bearer ${ready.token}`, ...(init.headers ?? {}) } }),
    kill: (signal = "SIGTERM") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}

/** Kills the child for good (test teardown) and waits for it. */
export async function stopHard(serve: ServeProcess | undefined): Promise<void> {
  if (!serve) return;
  if (serve.child.exitCode === null && serve.child.signalCode === null) serve.child.kill("SIGKILL");
  await serve.exited;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function githubSignature(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

export interface DeliveryResponse {
  status: number;
  body: WebhookBody & Partial<ErrorBody>;
  headers: Headers;
}

/** POSTs a signed GitHub-style delivery. Network errors reject. */
export async function deliver(
  webhookUrl: string,
  deliveryId: string,
  payload: unknown,
  options: { secret?: string; headers?: Record<string, string>; signal?: AbortSignal; rawBody?: string } = {},
): Promise<DeliveryResponse> {
  const body = options.rawBody ?? JSON.stringify(payload);
  const res = await fetch(`${webhookUrl}/webhooks/github`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-github-event": "issues",
      "x-github-delivery": deliveryId,
      "x-hub-signature-256": githubSignature(options.secret ?? HOOK_SECRET, body),
      ...(options.headers ?? {}),
    },
    body,
    signal: options.signal,
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, body: parsed as DeliveryResponse["body"], headers: res.headers };
}

/** Runs `task(i)` for i in [0, count) with at most `concurrency` at once. */
export async function pool<T>(count: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  const workers = Array.from({ length: Math.min(concurrency, count) }, async () => {
    for (;;) {
      const i = next++;
      if (i >= count) return;
      results[i] = await task(i);
    }
  });
  await Promise.all(workers);
  return results;
}

/** mulberry32: a small seeded PRNG, so fuzz runs are reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

/** Every regular file under `dir`, recursively. */
export function walkFiles(dir: string): string[] {
  const out: string[] = [];
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    // A running serve renames its temp files into place: one listed a moment ago may be gone.
    const st = statSync(full, { throwIfNoEntry: false });
    if (st?.isDirectory()) out.push(...walkFiles(full));
    else if (st?.isFile()) out.push(full);
  }
  return out;
}

export interface StorageAudit {
  jsonFiles: number;
  jsonlLines: number;
  /** Files that do not parse (path: problem). */
  corrupt: string[];
  /** Temp files left behind by interrupted atomic writes. */
  tempFiles: string[];
}

/**
 * Parses every .json file and every line of every .jsonl file under the
 * storage root. A .jsonl file may end in one torn line only if the process
 * was killed (`allowTornTail`): appends are not atomic, whole-file writes are.
 */
export function auditStorage(root: string, options: { allowTornTail?: boolean } = {}): StorageAudit {
  const audit: StorageAudit = { jsonFiles: 0, jsonlLines: 0, corrupt: [], tempFiles: [] };
  for (const file of walkFiles(root)) {
    const base = file.slice(file.lastIndexOf("/") + 1);
    if (base.endsWith(".tmp")) {
      audit.tempFiles.push(file);
      continue;
    }
    const text = readFileSync(file, "utf8");
    if (file.endsWith(".json")) {
      audit.jsonFiles++;
      try {
        JSON.parse(text);
      } catch (err) {
        audit.corrupt.push(`${file}: ${(err as Error).message}`);
      }
    } else if (file.endsWith(".jsonl")) {
      const lines = text.split("\n");
      const last = lines.pop();
      if (last !== "" && !options.allowTornTail) audit.corrupt.push(`${file}: last line has no newline`);
      lines.forEach((line, i) => {
        audit.jsonlLines++;
        try {
          JSON.parse(line);
        } catch (err) {
          audit.corrupt.push(`${file}:${i + 1}: ${(err as Error).message}`);
        }
      });
    }
  }
  return audit;
}

export interface DiskRecord {
  execution_id: string;
  session_id: string;
  agent: string;
  entry_point: string;
  status: string;
  /** An event-triggered execution's input carries the event (SPEC 4.2). */
  input?: { event?: { data?: { payload?: Record<string, unknown>; delivery_id?: string | null }; scheduled_at?: string }; [key: string]: unknown };
  error?: { code: string; message: string; reason?: string } | null;
  [key: string]: unknown;
}

/** Every execution record on disk (`<agent>/sessions/<id>/exec_*.json`), by execution id. */
export function recordsOnDisk(root: string): Map<string, DiskRecord> {
  const out = new Map<string, DiskRecord>();
  for (const file of walkFiles(root)) {
    const base = file.slice(file.lastIndexOf("/") + 1);
    if (!/^exec_.+\.json$/.test(base) || !file.includes("/sessions/")) continue;
    const record = JSON.parse(readFileSync(file, "utf8")) as DiskRecord;
    out.set(record.execution_id, record);
  }
  return out;
}

/** Lines of newline-delimited JSON logs; other lines are returned as `{ raw }`. */
export function logLines(stderr: string): Array<LogLine & { raw?: string }> {
  return stderr
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      try {
        return JSON.parse(line) as LogLine;
      } catch {
        return { level: "", msg: line, raw: line };
      }
    });
}
