/**
 * `forager serve` under systemd `Type=notify` (issue 12 point 19): READY=1
 * once listening, RELOADING=1/READY=1 around a SIGHUP reload, STOPPING=1 on
 * the drain, WATCHDOG=1 every WATCHDOG_USEC/2. The test listens on the
 * notify socket itself, with a small python3 helper: Node cannot bind an
 * AF_UNIX datagram socket.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { tempDir } from "../helpers/cli.js";
import { FIXTURES, startServe, stopHard } from "../reliability/helpers.js";
import { waitFor } from "../helpers/wait.js";

const LISTENER = `
import array, json, os, socket, sys
name = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\\0" + name[1:] if name.startswith("@") else name)
print(json.dumps({"listening": True}), flush=True)
while True:
    data, anc, _flags, _addr = s.recvmsg(4096, socket.CMSG_SPACE(16 * 4))
    for level, kind, payload in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds = array.array("i")
            fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
            for fd in fds:
                os.close(fd)  # releases the sender's BARRIER=1 wait, as systemd does
    print(json.dumps({"message": data.decode()}), flush=True)
`;

const has = (command: string) => spawnSync("sh", ["-c", `command -v ${command}`]).status === 0;
const missing = ["python3", "systemd-notify"].filter((c) => !has(c));
// On CI the tools are part of the machine: a missing one is a failure, not a skip.
const skip = missing.length > 0 && !process.env.CI ? `needs ${missing.join(" and ")} on PATH (to listen on a unix datagram socket / to send)` : false;

/** Listens on the notify socket; collects every message but the BARRIER=1 handshakes. */
async function notifyListener(name: string, t: { after(fn: () => unknown): void }) {
  const child = spawn("python3", ["-u", "-c", LISTENER, name], { stdio: ["ignore", "pipe", "pipe"] });
  t.after(() => child.kill("SIGKILL"));
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const messages: string[] = [];
  let listening = false;
  createInterface({ input: child.stdout }).on("line", (line) => {
    const parsed = JSON.parse(line) as { listening?: boolean; message?: string };
    if (parsed.listening) listening = true;
    if (parsed.message !== undefined && parsed.message !== "BARRIER=1") messages.push(parsed.message);
  });
  await waitFor(`the notify listener (${stderr})`, () => (listening ? true : undefined), { timeoutMs: 20_000 });
  const index = (predicate: (m: string) => boolean, from = 0) => messages.findIndex((m, i) => i >= from && predicate(m));
  return { messages, index };
}

function agentFile(dir: string): string {
  cpSync(join(FIXTURES, "lib"), join(dir, "lib"), { recursive: true });
  const file = join(dir, "agent.yaml");
  writeFileSync(
    file,
    `name: notified
graph:
  output_keys: [done]
  nodes:
    - { id: work, type: function, module: lib/work.mjs, export: work, output_keys: [done] }
entry_points:
  - { id: api, trigger_type: api }
runtime:
  webhook_host: 127.0.0.1
  webhook_port: 0
  control_port: 0
  webhook_routes:
    - { source_id: internal, path: /hooks/internal, allow_unsigned: true }
`,
  );
  return file;
}

describe("forager serve with NOTIFY_SOCKET", { skip }, () => {
  test("READY=1 once both listeners are up, WATCHDOG=1 every WATCHDOG_USEC/2, RELOADING=1/READY=1 around a reload, STOPPING=1 on the drain", async (t) => {
    const dir = await tempDir("forager-notify-");
    t.after(() => dir.cleanup());
    const socket = join(dir.path, "notify.sock");
    const listener = await notifyListener(socket, t);
    const file = agentFile(dir.path);
    const serve = await startServe(join(dir.path, "storage"), { files: [file], env: { NOTIFY_SOCKET: socket, WATCHDOG_USEC: "400000" } });
    t.after(() => stopHard(serve));

    await waitFor("READY=1", () => (listener.index((m) => m.split("\n").includes("READY=1")) >= 0 ? true : undefined), { timeoutMs: 20_000 });
    const ready = listener.messages[listener.index((m) => m.split("\n").includes("READY=1"))]!;
    assert.match(ready, /^STATUS=serving notified$/m);
    // Both listeners answer by now.
    assert.equal((await fetch(`${serve.info.url}/health`)).status, 200);
    assert.equal((await fetch(`${serve.info.webhook_url}/hooks/internal`, { method: "POST", body: "{}", headers: { "content-type": "application/json" } })).status, 202);

    // 400 ms watchdog: a ping every 200 ms.
    await waitFor("three watchdog pings", () => (listener.messages.filter((m) => m === "WATCHDOG=1").length >= 3 ? true : undefined), { timeoutMs: 20_000 });
    assert.ok(listener.index((m) => m === "WATCHDOG=1") > listener.index((m) => m.includes("READY=1")), "no ping before READY=1");

    serve.kill("SIGHUP");
    await waitFor("RELOADING=1", () => (listener.index((m) => m.startsWith("RELOADING=1")) >= 0 ? true : undefined), { timeoutMs: 20_000 });
    const reloading = listener.index((m) => m.startsWith("RELOADING=1"));
    assert.match(listener.messages[reloading]!, /^MONOTONIC_USEC=\d+$/m);
    await waitFor("READY=1 after the reload", () => (listener.index((m) => m === "READY=1", reloading + 1) >= 0 ? true : undefined), { timeoutMs: 20_000 });

    serve.kill("SIGTERM");
    assert.equal((await serve.exited).code, 0, serve.stderr());
    const stopping = listener.index((m) => m.startsWith("STOPPING=1"));
    assert.ok(stopping > reloading, listener.messages.join(" | "));
    assert.ok(!existsSync(join(serve.storage, "serve.json")));
  });

  test("an abstract socket (@name) works; WATCHDOG_PID naming another process turns the watchdog off", async (t) => {
    const dir = await tempDir("forager-notify-");
    t.after(() => dir.cleanup());
    const name = `@forager-test-${process.pid}-${Date.now()}`;
    const listener = await notifyListener(name, t);
    const serve = await startServe(join(dir.path, "storage"), {
      files: [agentFile(dir.path)],
      env: { NOTIFY_SOCKET: name, WATCHDOG_USEC: "200000", WATCHDOG_PID: "1" },
    });
    t.after(() => stopHard(serve));
    await waitFor("READY=1", () => (listener.index((m) => m.includes("READY=1")) >= 0 ? true : undefined), { timeoutMs: 20_000 });
    serve.kill("SIGTERM");
    assert.equal((await serve.exited).code, 0, serve.stderr());
    await waitFor("STOPPING=1", () => (listener.index((m) => m.startsWith("STOPPING=1")) >= 0 ? true : undefined), { timeoutMs: 5_000 });
    // A watchdog would have pinged right after READY=1, before STOPPING=1.
    assert.deepEqual(listener.messages.filter((m) => m.includes("WATCHDOG")), []);
  });
});
