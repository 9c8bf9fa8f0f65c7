/**
 * Keys remembered for a time (webhook delivery ids, idempotency keys, timer
 * watermarks), persisted under `<root>/_keys/<namespace>.jsonl` so they
 * survive a restart. Each change is one appended line, on disk before the
 * call resolves; the log is compacted (expired and replaced lines dropped)
 * on load and when it grows well past the live entries.
 *
 * Writes use group commit: every change made while an append is in flight
 * joins the next append, so a burst of webhooks costs one write per batch,
 * not one per delivery, while the check-and-set stays atomic in memory.
 * A transient claim (`putIfAbsent(..., {transient: true})`, claims.ts) is
 * kept in memory only: it guards against concurrent copies in this process,
 * and a crash loses nothing by forgetting it.
 */
import { join } from "node:path";
import { systemClock, type Clock } from "../util/clock.js";
import { AppendFiles } from "./append-files.js";
import { writeFileAtomic } from "./atomic.js";
import { deferred } from "../util/deferred.js";
import { readJsonLines } from "./event-log.js";
import type { KeyStore } from "./types.js";

// Every entry has the same members from the start, and none is ever
// deleted: a store holds one per delivery id for a day, and objects that
// change shape are slower to read and larger to keep.
interface Entry {
  value: string;
  /** ms since the epoch; null = never expires. */
  expiresAt: number | null;
  /** Set while the line recording this entry is not on disk yet. */
  durable: Promise<void> | undefined;
  /** Kept in memory only (a pending claim): never written, so never deleted on disk either. */
  transient: boolean;
}

function newEntry(value: string, expiresAt: number | null, transient = false): Entry {
  return { value, expiresAt, durable: undefined, transient };
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

/** Lines waiting for the next append, and the promise all their writers wait on. */
interface PendingBatch {
  text: string;
  lines: number;
  done: Promise<void>;
  resolve(): void;
  reject(err: unknown): void;
}

class Namespace {
  entries = new Map<string, Entry>();
  lines = 0;
  pending: PendingBatch | null = null;
  writing: Promise<void> | null = null;
}

/** The KeyStore of a storage directory: one append-only log per namespace under `<root>/_keys/`. */
export class FileKeyStore implements KeyStore {
  /** @internal The folder of the namespace logs: `<root>/_keys`. */
  readonly dir: string;
  private readonly clock: Clock;
  private readonly namespaces = new Map<string, Promise<Namespace>>();
  /** The namespaces done loading, for calls that need not wait a turn for them. */
  private readonly loaded = new Map<string, Namespace>();
  // Batches of short lines: written on the event loop (append-files.ts).
  private readonly files = new AppendFiles(32, { sync: true });

  constructor(root: string, options: { clock?: Clock } = {}) {
    this.dir = join(root, "_keys");
    this.clock = options.clock ?? systemClock;
  }

  async putIfAbsent(
    namespace: string,
    key: string,
    value: string,
    ttlSeconds: number,
    options: { transient?: boolean } = {},
  ): Promise<{ existing?: string }> {
    const ns = this.loaded.get(namespace) ?? (await this.load(namespace));
    for (;;) {
      const now = this.clock.now();
      const current = ns.entries.get(key);
      if (!isLive(current, now)) break;
      // A claim still being written is not yet a fact: wait, then look again
      // (it is gone if its write failed).
      if (!current.durable) return { existing: current.value };
      await current.durable.catch(() => undefined);
      if (ns.entries.get(key) === current) return { existing: current.value };
    }
    const expiresAt = expiry(this.clock.now(), ttlSeconds);
    if (options.transient) {
      // No live entry means none on disk either: memory is the whole truth for this key.
      ns.entries.set(key, newEntry(value, expiresAt, true));
      return {};
    }
    await this.put(namespace, ns, key, newEntry(value, expiresAt));
    return {};
  }

  async compareAndSet(namespace: string, key: string, expected: string, value: string, ttlSeconds?: number): Promise<boolean> {
    const ns = this.loaded.get(namespace) ?? (await this.load(namespace));
    const current = ns.entries.get(key);
    if (!isLive(current, this.clock.now()) || current.value !== expected) return false;
    await this.put(namespace, ns, key, newEntry(value, expiry(this.clock.now(), ttlSeconds)));
    return true;
  }

  async deleteIfValue(namespace: string, key: string, expected: string): Promise<boolean> {
    const ns = this.loaded.get(namespace) ?? (await this.load(namespace));
    const current = ns.entries.get(key);
    if (!isLive(current, this.clock.now()) || current.value !== expected) return false;
    ns.entries.delete(key);
    if (!current.transient) await this.append(namespace, ns, { k: key, d: true });
    return true;
  }

  async get(namespace: string, key: string): Promise<string | undefined> {
    const ns = this.loaded.get(namespace) ?? (await this.load(namespace));
    const entry = ns.entries.get(key);
    return isLive(entry, this.clock.now()) ? entry.value : undefined;
  }

  async set(namespace: string, key: string, value: string, ttlSeconds?: number): Promise<void> {
    const ns = this.loaded.get(namespace) ?? (await this.load(namespace));
    await this.put(namespace, ns, key, newEntry(value, expiry(this.clock.now(), ttlSeconds)));
  }

  async delete(namespace: string, key: string): Promise<void> {
    const ns = this.loaded.get(namespace) ?? (await this.load(namespace));
    if (!ns.entries.has(key)) return;
    ns.entries.delete(key);
    await this.append(namespace, ns, { k: key, d: true });
  }

  /** Waits for every write in flight. */
  async flush(): Promise<void> {
    const loaded = await Promise.all([...this.namespaces.values()].map((p) => p.catch(() => undefined)));
    for (const ns of loaded) {
      while (ns?.writing) await ns.writing.catch(() => undefined);
    }
  }

  private filePath(namespace: string): string {
    // `webhook:github`, `idempotency:agent/ep` become safe file names.
    return join(this.dir, `${encodeURIComponent(namespace)}.jsonl`);
  }

  /** Sets the entry in memory at once (so concurrent callers see it), then makes it durable. */
  private async put(namespace: string, ns: Namespace, key: string, entry: Entry): Promise<void> {
    const previous = ns.entries.get(key);
    const durable = this.append(namespace, ns, { k: key, v: entry.value, x: entry.expiresAt });
    entry.durable = durable;
    ns.entries.set(key, entry);
    try {
      await durable;
    } catch (err) {
      // Not on disk, so not taken: memory must not claim otherwise.
      if (ns.entries.get(key) === entry) {
        if (previous) ns.entries.set(key, previous);
        else ns.entries.delete(key);
      }
      throw err;
    } finally {
      entry.durable = undefined;
    }
  }

  private append(namespace: string, ns: Namespace, line: LogLine): Promise<void> {
    let batch = ns.pending;
    if (!batch) {
      const { promise: done, resolve, reject } = deferred();
      batch = ns.pending = { text: "", lines: 0, done, resolve, reject };
    }
    batch.text += JSON.stringify(line) + "\n";
    batch.lines++;
    if (!ns.writing) ns.writing = this.writeBatches(namespace, ns);
    return batch.done;
  }

  /** Drains the queue: one append per batch, batches in order. */
  private async writeBatches(namespace: string, ns: Namespace): Promise<void> {
    // Let the rest of this tick's changes join the first batch.
    await Promise.resolve();
    try {
      while (ns.pending) {
        const batch = ns.pending;
        ns.pending = null;
        try {
          await this.appendText(namespace, batch.text);
          ns.lines += batch.lines;
          batch.resolve();
        } catch (err) {
          batch.reject(err);
        }
        if (!ns.pending && ns.lines > 2 * ns.entries.size + 1000) {
          await this.compact(namespace, ns).catch(() => undefined);
        }
      }
    } finally {
      ns.writing = null;
    }
  }

  private appendText(namespace: string, text: string): Promise<void> {
    return this.files.append(this.filePath(namespace), text);
  }

  /** Waits for writes in flight and closes the open logs; the store still works after (files reopen). */
  async close(): Promise<void> {
    await this.flush();
    await this.files.closeAll();
  }

  private async compact(namespace: string, ns: Namespace): Promise<void> {
    const now = this.clock.now();
    let text = "";
    for (const [k, entry] of ns.entries) {
      if (!isLive(entry, now)) {
        ns.entries.delete(k);
        continue;
      }
      if (entry.transient) continue;
      text += JSON.stringify({ k, v: entry.value, x: entry.expiresAt } satisfies LogLine) + "\n";
    }
    // The open handle would keep appending to the replaced file.
    await this.files.forget(this.filePath(namespace));
    await writeFileAtomic(this.filePath(namespace), text);
    ns.lines = ns.entries.size;
  }

  private load(namespace: string): Promise<Namespace> {
    let loading = this.namespaces.get(namespace);
    if (!loading) {
      loading = this.readNamespace(namespace);
      this.namespaces.set(namespace, loading);
      loading.then((ns) => this.loaded.set(namespace, ns), () => undefined);
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
      else if (typeof line.v === "string") ns.entries.set(line.k, newEntry(line.v, line.x ?? null));
    }
    ns.lines = values.length + skipped;
    const now = this.clock.now();
    for (const [k, entry] of ns.entries) if (!isLive(entry, now)) ns.entries.delete(k);
    if (ns.lines > ns.entries.size) await this.compact(namespace, ns);
    return ns;
  }
}

/** A KeyStore in memory, for a runtime without a storage path and for tests: keys do not survive the process. */
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
    const id = this.id(namespace, key);
    const now = this.clock.now();
    const current = this.entries.get(id);
    if (isLive(current, now)) return { existing: current.value };
    this.entries.set(id, newEntry(value, expiry(now, ttlSeconds)));
    if (++this.writes % 1000 === 0) this.sweep(now);
    return {};
  }

  async get(namespace: string, key: string): Promise<string | undefined> {
    const entry = this.entries.get(this.id(namespace, key));
    return isLive(entry, this.clock.now()) ? entry.value : undefined;
  }

  async set(namespace: string, key: string, value: string, ttlSeconds?: number): Promise<void> {
    this.entries.set(this.id(namespace, key), newEntry(value, expiry(this.clock.now(), ttlSeconds)));
  }

  async compareAndSet(namespace: string, key: string, expected: string, value: string, ttlSeconds?: number): Promise<boolean> {
    const id = this.id(namespace, key);
    const current = this.entries.get(id);
    if (!isLive(current, this.clock.now()) || current.value !== expected) return false;
    this.entries.set(id, newEntry(value, expiry(this.clock.now(), ttlSeconds)));
    return true;
  }

  async delete(namespace: string, key: string): Promise<void> {
    this.entries.delete(this.id(namespace, key));
  }

  async deleteIfValue(namespace: string, key: string, expected: string): Promise<boolean> {
    const id = this.id(namespace, key);
    const current = this.entries.get(id);
    if (!isLive(current, this.clock.now()) || current.value !== expected) return false;
    this.entries.delete(id);
    return true;
  }

  private id(namespace: string, key: string): string {
    return `${namespace}\u0000${key}`;
  }
}
