/**
 * Keys remembered for a time (webhook delivery ids, idempotency keys, timer
 * watermarks), persisted under `<root>/_keys/<namespace>.jsonl` so they
 * survive a restart. Each change is one appended line, written before the
 * call resolves; the log is compacted (expired and replaced lines dropped)
 * on load and when it grows well past the live entries.
 */
import { appendFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { systemClock, type Clock } from "../util/clock.js";
import { writeFileAtomic } from "./atomic.js";
import { readJsonLines } from "./event-log.js";
import type { KeyStore } from "./types.js";

interface Entry {
  value: string;
  /** ms since the epoch; null = never expires. */
  expiresAt: number | null;
}

interface LogLine {
  k: string;
  v?: string;
  x?: number | null;
  /** A deletion. */
  d?: true;
}

function expiry(now: number, ttlSeconds: number | undefined): number | null {
  return ttlSeconds === undefined || !Number.isFinite(ttlSeconds) ? null : now + ttlSeconds * 1000;
}

function isLive(entry: Entry | undefined, now: number): entry is Entry {
  return entry !== undefined && (entry.expiresAt === null || entry.expiresAt > now);
}

class Namespace {
  entries = new Map<string, Entry>();
  lines = 0;
}

export class FileKeyStore implements KeyStore {
  readonly dir: string;
  private readonly clock: Clock;
  private readonly namespaces = new Map<string, Promise<Namespace>>();
  /** Per namespace: changes are checked and written one at a time, in order. */
  private readonly chains = new Map<string, Promise<unknown>>();

  constructor(root: string, options: { clock?: Clock } = {}) {
    this.dir = join(root, "_keys");
    this.clock = options.clock ?? systemClock;
  }

  putIfAbsent(namespace: string, key: string, value: string, ttlSeconds: number): Promise<{ existing?: string }> {
    return this.serialise(namespace, async (ns) => {
      const now = this.clock.now();
      const current = ns.entries.get(key);
      if (isLive(current, now)) return { existing: current.value };
      await this.put(namespace, ns, key, { value, expiresAt: expiry(now, ttlSeconds) });
      return {};
    });
  }

  async get(namespace: string, key: string): Promise<string | undefined> {
    const ns = await this.load(namespace);
    const entry = ns.entries.get(key);
    return isLive(entry, this.clock.now()) ? entry.value : undefined;
  }

  set(namespace: string, key: string, value: string, ttlSeconds?: number): Promise<void> {
    return this.serialise(namespace, (ns) =>
      this.put(namespace, ns, key, { value, expiresAt: expiry(this.clock.now(), ttlSeconds) }),
    );
  }

  delete(namespace: string, key: string): Promise<void> {
    return this.serialise(namespace, async (ns) => {
      if (!ns.entries.has(key)) return;
      ns.entries.delete(key);
      await this.appendLine(namespace, ns, { k: key, d: true });
    });
  }

  /** Waits for every write in flight. */
  async flush(): Promise<void> {
    await Promise.all([...this.chains.values()].map((p) => p.catch(() => undefined)));
  }

  private filePath(namespace: string): string {
    // `webhook:github`, `idempotency:agent/ep` become safe file names.
    return join(this.dir, `${encodeURIComponent(namespace)}.jsonl`);
  }

  private async put(namespace: string, ns: Namespace, key: string, entry: Entry): Promise<void> {
    const previous = ns.entries.get(key);
    ns.entries.set(key, entry);
    try {
      await this.appendLine(namespace, ns, { k: key, v: entry.value, x: entry.expiresAt });
    } catch (err) {
      // Not on disk, so not taken: memory must not claim otherwise.
      if (previous) ns.entries.set(key, previous);
      else ns.entries.delete(key);
      throw err;
    }
    if (ns.lines > 2 * ns.entries.size + 1000) await this.compact(namespace, ns);
  }

  private async appendLine(namespace: string, ns: Namespace, line: LogLine): Promise<void> {
    const text = JSON.stringify(line) + "\n";
    try {
      await appendFile(this.filePath(namespace), text);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      await mkdir(this.dir, { recursive: true });
      await appendFile(this.filePath(namespace), text);
    }
    ns.lines++;
  }

  private async compact(namespace: string, ns: Namespace): Promise<void> {
    const now = this.clock.now();
    let text = "";
    for (const [k, entry] of ns.entries) {
      if (!isLive(entry, now)) {
        ns.entries.delete(k);
        continue;
      }
      text += JSON.stringify({ k, v: entry.value, x: entry.expiresAt } satisfies LogLine) + "\n";
    }
    await writeFileAtomic(this.filePath(namespace), text);
    ns.lines = ns.entries.size;
  }

  private load(namespace: string): Promise<Namespace> {
    let loading = this.namespaces.get(namespace);
    if (!loading) {
      loading = this.readNamespace(namespace);
      this.namespaces.set(namespace, loading);
      // A failed load is retried on the next call rather than remembered.
      loading.catch(() => this.namespaces.delete(namespace));
    }
    return loading;
  }

  private async readNamespace(namespace: string): Promise<Namespace> {
    const ns = new Namespace();
    const { values, skipped } = await readJsonLines<LogLine>(this.filePath(namespace));
    for (const line of values) {
      if (typeof line?.k !== "string") continue;
      if (line.d) ns.entries.delete(line.k);
      else if (typeof line.v === "string") ns.entries.set(line.k, { value: line.v, expiresAt: line.x ?? null });
    }
    ns.lines = values.length + skipped;
    const now = this.clock.now();
    for (const [k, entry] of ns.entries) if (!isLive(entry, now)) ns.entries.delete(k);
    if (ns.lines > ns.entries.size) await this.compact(namespace, ns);
    return ns;
  }

  private serialise<T>(namespace: string, task: (ns: Namespace) => Promise<T>): Promise<T> {
    const previous = this.chains.get(namespace) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(async () => task(await this.load(namespace)));
    const tail = run.catch(() => undefined);
    this.chains.set(namespace, tail);
    void tail.then(() => {
      if (this.chains.get(namespace) === tail) this.chains.delete(namespace);
    });
    return run;
  }
}

export class MemoryKeyStore implements KeyStore {
  private readonly entries = new Map<string, Entry>();
  private readonly clock: Clock;
  private writes = 0;

  constructor(options: { clock?: Clock } = {}) {
    this.clock = options.clock ?? systemClock;
  }

  /** Drops expired entries so a long-lived process does not grow without bound. */
  private sweep(now: number): void {
    for (const [id, entry] of this.entries) if (!isLive(entry, now)) this.entries.delete(id);
  }

  async putIfAbsent(namespace: string, key: string, value: string, ttlSeconds: number): Promise<{ existing?: string }> {
    const id = `${namespace}\u0000${key}`;
    const now = this.clock.now();
    const current = this.entries.get(id);
    if (isLive(current, now)) return { existing: current.value };
    this.entries.set(id, { value, expiresAt: expiry(now, ttlSeconds) });
    if (++this.writes % 1000 === 0) this.sweep(now);
    return {};
  }

  async get(namespace: string, key: string): Promise<string | undefined> {
    const entry = this.entries.get(`${namespace}\u0000${key}`);
    return isLive(entry, this.clock.now()) ? entry.value : undefined;
  }

  async set(namespace: string, key: string, value: string, ttlSeconds?: number): Promise<void> {
    this.entries.set(`${namespace}\u0000${key}`, { value, expiresAt: expiry(this.clock.now(), ttlSeconds) });
  }

  async delete(namespace: string, key: string): Promise<void> {
    this.entries.delete(`${namespace}\u0000${key}`);
  }
}
