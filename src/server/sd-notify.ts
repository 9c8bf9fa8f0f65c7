/**
 * systemd's readiness protocol (sd_notify, `Type=notify`): `READY=1` once
 * serving, `RELOADING=1` / `READY=1` around a reload, `STOPPING=1` when the
 * drain starts, and `WATCHDOG=1` every WATCHDOG_USEC/2.
 *
 * The protocol is a datagram on the AF_UNIX SOCK_DGRAM socket named by
 * NOTIFY_SOCKET. Node cannot send unix datagrams without a native addon, so
 * each message is handed to `systemd-notify`, which ships with systemd and is
 * therefore present wherever NOTIFY_SOCKET is set by it. The message then
 * comes from a child process: the unit needs `NotifyAccess=all`.
 * `systemd-notify` waits (BARRIER=1) until the manager has read the message,
 * so messages are sent one at a time, in order.
 */
import { spawn } from "node:child_process";
import type { Logger } from "../logging/index.js";

/** How long one `systemd-notify` may take before it is killed (its own barrier gives up after 5 s). */
const SEND_TIMEOUT_MS = 10_000;

export interface SystemdNotifierOptions {
  env: NodeJS.ProcessEnv;
  logger: Logger;
  /** The helper to run; default `systemd-notify` from PATH. */
  command?: string;
  /** This process's pid, for WATCHDOG_PID. */
  pid?: number;
}

/** Sends sd_notify messages when NOTIFY_SOCKET is set; does nothing otherwise. */
export class SystemdNotifier {
  /** False without NOTIFY_SOCKET, or once the helper turned out to be missing. */
  private enabled: boolean;
  private readonly command: string;
  private queue: Promise<void> = Promise.resolve();
  private watchdog?: ReturnType<typeof setInterval>;
  private watchdogBusy = false;
  private warned = false;

  constructor(private readonly options: SystemdNotifierOptions) {
    this.enabled = Boolean(options.env.NOTIFY_SOCKET?.trim());
    this.command = options.command ?? "systemd-notify";
  }

  get active(): boolean {
    return this.enabled;
  }

  /**
   * Queues one message (`KEY=VALUE` lines); resolves once it was sent or
   * given up on. Failures are logged, never thrown: the daemon serves on.
   */
  notify(...assignments: string[]): Promise<void> {
    if (!this.enabled) return Promise.resolve();
    const sent = this.queue.then(() => this.send(assignments));
    this.queue = sent;
    return sent;
  }

  /**
   * The watchdog interval from WATCHDOG_USEC (half of it, as systemd
   * advises), or undefined when there is no watchdog for this process
   * (unset, invalid, or WATCHDOG_PID names another process).
   */
  watchdogIntervalMs(): number | undefined {
    const { env } = this.options;
    const usec = Number(env.WATCHDOG_USEC?.trim());
    if (!this.enabled || !Number.isSafeInteger(usec) || usec <= 0) return undefined;
    const pid = env.WATCHDOG_PID?.trim();
    if (pid && Number(pid) !== (this.options.pid ?? process.pid)) return undefined;
    return Math.max(1, Math.floor(usec / 2000));
  }

  /** Sends WATCHDOG=1 every WATCHDOG_USEC/2 until `close`. A ping still under way is not doubled. */
  startWatchdog(): void {
    const interval = this.watchdogIntervalMs();
    if (interval === undefined || this.watchdog) return;
    this.options.logger.info({ interval_ms: interval }, `systemd watchdog: pinging every ${interval} ms`);
    const ping = () => {
      if (this.watchdogBusy) return;
      this.watchdogBusy = true;
      void this.notify("WATCHDOG=1").finally(() => (this.watchdogBusy = false));
    };
    ping();
    this.watchdog = setInterval(ping, interval);
    this.watchdog.unref();
  }

  /** Stops the watchdog and waits for queued messages. */
  async close(): Promise<void> {
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = undefined;
    await this.queue;
  }

  private send(assignments: string[]): Promise<void> {
    if (!this.enabled) return Promise.resolve();
    return new Promise((resolve) => {
      let stderr = "";
      let settled = false;
      const done = (problem?: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (problem) this.warn(problem);
        resolve();
      };
      const child = spawn(this.command, assignments, { env: this.options.env, stdio: ["ignore", "ignore", "pipe"] });
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        done(`${this.command} did not finish within ${SEND_TIMEOUT_MS / 1000}s`);
      }, SEND_TIMEOUT_MS);
      timer.unref();
      child.stderr.on("data", (chunk: Buffer) => {
        if (stderr.length < 1000) stderr += chunk.toString();
      });
      child.on("error", (err: NodeJS.ErrnoException) => {
        if (err.code === "ENOENT") {
          // Nothing to send with: say so once and stop trying.
          this.enabled = false;
          return done(`NOTIFY_SOCKET is set but ${this.command} is not installed: systemd is not told when forager is ready`);
        }
        done(`${this.command} could not run: ${err.message}`);
      });
      child.on("close", (code) => {
        if (code === 0) return done();
        done(`${this.command} ${assignments.join(" ")} failed (exit ${code}): ${stderr.trim() || "no message"}`);
      });
    });
  }

  /** One warning per kind of failure would still repeat every watchdog ping: warn once, then debug. */
  private warn(message: string): void {
    if (this.warned) return this.options.logger.debug({ component: "systemd" }, message);
    this.warned = true;
    this.options.logger.warn({ component: "systemd" }, message);
  }
}
