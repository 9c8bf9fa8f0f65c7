/** Starting and stopping node:http listeners, shared by the webhook server and the control API. */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";

/** Listens and returns the base URL (with the real port when `port` was 0). */
export function listen(server: Server, host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => {
      server.off("listening", onListening);
      reject(err);
    };
    const onListening = () => {
      server.off("error", onError);
      const address = server.address() as AddressInfo;
      resolve(`http://${formatHost(host)}:${address.port}`);
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen(port, host);
  });
}

function formatHost(host: string): string {
  if (host === "0.0.0.0" || host === "") return "127.0.0.1";
  if (host === "::") return "[::1]";
  return host.includes(":") ? `[${host}]` : host;
}

/**
 * Stops accepting connections, closes idle keep-alive ones at once and
 * gives requests in flight `graceMs` before cutting them.
 */
export async function closeServer(server: Server, graceMs = 2_000): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const timer = setTimeout(() => server.closeAllConnections(), graceMs);
  timer.unref();
  try {
    await closed;
  } finally {
    clearTimeout(timer);
  }
}
