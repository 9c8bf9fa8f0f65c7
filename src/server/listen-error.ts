/**
 * A listener that cannot bind is a usage error (SPEC 1, exit 2) naming the
 * setting to change, not a raw `listen EADDRINUSE`.
 */
import { UsageError } from "../errors.js";

const SETTINGS = {
  webhook: { name: "webhook listener", setting: "runtime.webhook_port", env: "FORAGER_WEBHOOK_PORT" },
  control: { name: "control API", setting: "runtime.control_port", env: "FORAGER_CONTROL_PORT" },
} as const;

/** Wraps a bind failure of `which` listener; other errors pass through unchanged. */
export function listenerError(err: unknown, which: keyof typeof SETTINGS, host: string, port: number): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const { name, setting, env } = SETTINGS[which];
  const change = `change ${setting} (or ${env})`;
  if (code === "EADDRINUSE") return new UsageError(`the ${name} cannot listen on ${host}:${port}: the port is already in use; ${change}, or stop what holds it`, { cause: err });
  if (code === "EACCES") return new UsageError(`the ${name} may not listen on ${host}:${port} (permission denied; ports below 1024 need privileges); ${change}`, { cause: err });
  if (code === "EADDRNOTAVAIL") return new UsageError(`the ${name} cannot listen on ${host}:${port}: no such address on this machine; change runtime.${which}_host`, { cause: err });
  return err;
}
