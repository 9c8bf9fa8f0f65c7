/**
 * The checks behind `GET /health` (SPEC 6): storage can be written (a real
 * write probe, so a full or read-only disk shows), every loaded agent's
 * shared state can be read, and the server is not draining. Results are
 * cached for a moment, so a health check polled often stays cheap.
 */
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

export type CheckResult = "ok" | string;

export interface HealthReport {
  status: "ok" | "failing";
  checks: Record<string, CheckResult>;
}

export interface HealthProbeOptions {
  storagePath: string;
  agents: () => readonly string[];
  /** How long a probe result is reused, in milliseconds; default 2 000. */
  cacheMs?: number;
}

export class HealthProbe {
  private cached?: { at: number; checks: Record<string, CheckResult> };
  private running?: Promise<Record<string, CheckResult>>;
  private readonly probeFile: string;

  constructor(private readonly options: HealthProbeOptions) {
    this.probeFile = join(options.storagePath, `.health-probe-${process.pid}`);
  }

  /** The storage and state checks, from cache when fresh; concurrent callers share one probe. */
  async check(): Promise<Record<string, CheckResult>> {
    const now = Date.now();
    if (this.cached && now - this.cached.at < (this.options.cacheMs ?? 2_000)) return this.cached.checks;
    this.running ??= this.probe().finally(() => (this.running = undefined));
    const checks = await this.running;
    this.cached = { at: Date.now(), checks };
    return checks;
  }

  private async probe(): Promise<Record<string, CheckResult>> {
    return { storage: await this.probeStorage(), state: await this.probeState() };
  }

  private async probeStorage(): Promise<CheckResult> {
    try {
      // A few KB, so a disk with a handful of bytes left still shows as full.
      await writeFile(this.probeFile, Buffer.alloc(4096, 0x20));
      await rm(this.probeFile, { force: true });
      return "ok";
    } catch (err) {
      await rm(this.probeFile, { force: true }).catch(() => undefined);
      const code = (err as NodeJS.ErrnoException).code;
      return `storage ${this.options.storagePath} cannot be written (${code ?? (err as Error).message})`;
    }
  }

  private async probeState(): Promise<CheckResult> {
    for (const agent of this.options.agents()) {
      const path = join(this.options.storagePath, agent, "state.json");
      let text: string;
      try {
        text = await readFile(path, "utf8");
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "ENOENT") continue;
        return `shared state ${path} cannot be read (${code ?? (err as Error).message})`;
      }
      try {
        const parsed: unknown = JSON.parse(text);
        if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("not a JSON object");
      } catch (err) {
        return `shared state ${path} is not valid JSON (${(err as Error).message})`;
      }
    }
    return "ok";
  }
}
