/**
 * Connection bounds (SPEC 5): with a low open-file limit, a flood of 2 000
 * idle sockets on the webhook port never takes the control API down, and
 * webhooks are accepted again once the flood is gone; a connection that
 * sends nothing is closed after 10 s, one that sends half a head gets a 408.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { tempDir } from "../helpers/cli.js";
import { deliver, logLines, startServe, stopHard, type ServeProcess } from "./helpers.js";
import { waitFor } from "../helpers/wait.js";

const SOCKETS = 2000;
const OPEN_FILES = 256;

/** Opens a socket; resolves once connected or failed, never rejects. */
function openSocket(port: number, sockets: Set<Socket>, stats: { connected: number; failed: number; closedByServer: number }): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    sockets.add(socket);
    socket.on("connect", () => {
      stats.connected++;
      resolve();
    });
    socket.on("error", () => {
      stats.failed++;
      resolve();
    });
    socket.on("close", () => {
      if (sockets.delete(socket)) stats.closedByServer++;
      resolve();
    });
  });
}

describe(`connection caps under ulimit -n ${OPEN_FILES}`, () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let serve: ServeProcess | undefined;
  const sockets = new Set<Socket>();
  const dropAll = () => {
    const all = [...sockets];
    sockets.clear();
    for (const s of all) s.destroy();
  };
  before(async () => {
    dir = await tempDir("forager-rel-conns-");
    serve = await startServe(dir.path, { openFiles: OPEN_FILES, env: { TICK_SECONDS: "3600", LOG_LEVEL: "info" } });
  });
  after(async () => {
    dropAll();
    await stopHard(serve);
    await dir.cleanup();
  });

  test(`${SOCKETS} idle sockets on the webhook port: /health still answers, webhooks 202 again once they are gone`, async () => {
    const s = serve!;
    const port = Number(new URL(s.info.webhook_url!).port);
    const stats = { connected: 0, failed: 0, closedByServer: 0 };
    // Opened 100 at a time, and all held open (idle) at once.
    for (let i = 0; i < SOCKETS; i += 100) {
      await Promise.all(Array.from({ length: Math.min(100, SOCKETS - i) }, () => openSocket(port, sockets, stats)));
    }
    const health = await fetch(`${s.info.url}/health`, { signal: AbortSignal.timeout(5_000) });
    assert.equal(health.status, 200);
    const stats1 = await s.control("/stats", { signal: AbortSignal.timeout(5_000) });
    assert.equal(stats1.status, 200);
    await stats1.arrayBuffer();
    const held = sockets.size;
    console.log(`# connection-limits: ${SOCKETS} sockets: ${stats.connected} connected, ${stats.failed} failed, ${stats.closedByServer} closed by serve, ${held} held open; /health 200`);
    assert.ok(held < OPEN_FILES, `serve holds fewer sockets (${held}) than its open-file limit`);
    assert.ok(stats.closedByServer > 0, "connections over the cap were closed");
    dropAll();
    // Once the flood is gone a valid webhook is accepted (the server sees the closes within moments).
    const ok = await waitFor("a webhook accepted after the flood", async () => {
      const res = await deliver(s.info.webhook_url!, `after-flood-${Date.now()}`, { action: "opened" }, { signal: AbortSignal.timeout(5_000) }).catch(() => undefined);
      return res?.status === 202 ? res : undefined;
    }, { timeoutMs: 20_000, stepMs: 200 });
    assert.equal(ok.status, 202);
    assert.equal(s.child.exitCode, null, "serve is still running");
    const capLine = logLines(s.stderr()).find((l) => typeof l.webhook_max_connections === "number");
    assert.ok(capLine, "serve says how the open-file limit caps connections");
    assert.ok(Number(capLine.webhook_max_connections) + Number(capLine.control_max_connections) < OPEN_FILES);
  });

  test("a connection that sends nothing is closed after 10 s; half a head gets a 408", async () => {
    const s = serve!;
    const port = Number(new URL(s.info.webhook_url!).port);
    const watch = (send?: string) =>
      new Promise<{ ms: number; data: string }>((resolve, reject) => {
        const started = Date.now();
        const socket = connect(port, "127.0.0.1", () => {
          if (send) socket.write(send);
        });
        sockets.add(socket);
        let data = "";
        const deadline = setTimeout(() => {
          socket.destroy();
          reject(new Error(`still open after 20 s (${send ? "half a head" : "idle"})`));
        }, 20_000);
        socket.on("data", (d) => (data += d.toString("latin1")));
        socket.on("error", () => undefined);
        socket.on("close", () => {
          clearTimeout(deadline);
          sockets.delete(socket);
          resolve({ ms: Date.now() - started, data });
        });
      });
    const [idle, slow] = await Promise.all([watch(), watch("POST /webhooks/github HTTP/1.1\r\nHost: x\r\n")]);
    console.log(`# connection-limits: idle connection closed after ${idle.ms} ms, half a head after ${slow.ms} ms`);
    assert.ok(idle.ms >= 9_000, `idle closed after ${idle.ms} ms`);
    assert.equal(idle.data, "", "nothing is sent to a connection that sent nothing");
    assert.ok(slow.ms >= 9_000, `half a head closed after ${slow.ms} ms`);
    assert.match(slow.data, /^HTTP\/1\.1 408 /);
  });
});
