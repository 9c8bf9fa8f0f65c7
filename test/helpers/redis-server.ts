/**
 * A real redis-server for the tests that need one (the redis stores, the
 * cluster): started on a free loopback port with its own temp folder and
 * `appendonly yes`, stopped by its PID. CI installs the Debian package
 * (.ci/run); on a developer machine without it, `redisSkip()` gives the
 * reason to skip, while under CI=true a missing binary is a failure.
 * `useRedis()` is the usual way in: one server for a suite, the links the
 * suite opened closed after it, a fresh key prefix per test.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import { RedisLink } from "../../src/storage/redis/connection.js";
import { waitFor } from "./wait.js";

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Stops the server with SIGKILL (nothing to save: the test is over) and removes its folder. */
  stop(): Promise<void>;
  /** Stops it with SIGKILL and keeps its folder, so `restart()` brings it back with its AOF (Redis "going away"). */
  kill(): Promise<void>;
  /** Starts it again on the same port and folder after `kill()`. */
  restart(): Promise<void>;
}

const binaryFound = spawnSync("redis-server", ["--version"], { stdio: "ignore" }).status === 0;

/** Why a redis test must skip here, or false when redis-server is there. Under CI=true a missing binary throws. */
export function redisSkip(): string | false {
  if (binaryFound) return false;
  if (process.env.CI) throw new Error("redis-server is not installed: .ci/run installs it with apt-get install redis-server");
  return "redis-server is not installed (apt-get install redis-server)";
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/** One PING over a raw socket: true when the server answered PONG. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    let answer = "";
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.on("error", () => done(false));
    socket.on("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk) => {
      answer += chunk.toString();
      if (answer.includes("\r\n")) done(answer.startsWith("+PONG"));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

/** Starts redis-server; `extraArgs` are more `--name value` settings (e.g. `--appendfsync always`). */
export async function startRedis(extraArgs: string[] = []): Promise<RedisServer> {
  const dir = await mkdtemp(join(tmpdir(), "forager-redis-"));
  let child: ChildProcess | undefined;
  let port = 0;

  const launch = async (): Promise<void> => {
    const args = [
      "--port", String(port),
      "--bind", "127.0.0.1",
      "--save", "",
      "--appendonly", "yes",
      "--dir", dir,
      "--daemonize", "no",
      "--maxmemory-policy", "noeviction",
      ...extraArgs,
    ];
    const started = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    started.stdout?.on("data", (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4_000)));
    started.stderr?.on("data", (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4_000)));
    child = started;
    await waitFor(
      `redis-server on port ${port} to answer PING`,
      async () => {
        if (started.exitCode !== null) throw new Error(`redis-server exited with ${started.exitCode}: ${output}`);
        return (await ping(port)) || undefined;
      },
      { timeoutMs: 15_000, stepMs: 20 },
    );
  };

  // A port found free can be taken before redis binds it: try a few.
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      await launch();
      break;
    } catch (err) {
      child?.kill("SIGKILL");
      if (attempt >= 3) {
        await rm(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }

  const kill = async () => {
    if (!child) return;
    child.kill("SIGKILL");
    await exited(child);
  };
  return {
    url: `redis://127.0.0.1:${port}/0`,
    port,
    get pid() {
      return child?.pid ?? 0;
    },
    kill,
    restart: launch,
    async stop() {
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The suite's server as `useRedis()` gives it: the server's own fields, plus links and prefixes. */
export interface RedisFixture extends Omit<RedisServer, "stop"> {
  /** The server itself (it is stopped after the suite: do not stop it). */
  readonly server: RedisServer;
  /** A link on the server under `prefix`; every link made here is closed after the suite. */
  link(prefix: string): RedisLink;
  /** A key prefix no other test in this process has (`<label>-<pid>-<n>`, then `-<name>` when given). */
  prefix(name?: string): string;
}

let prefixes = 0;

/**
 * One redis-server for the suite this is called in (inside a `describe`, or
 * at the top of a file for the whole file): started in a `before`, and in an
 * `after` the links from `link()` are closed and the server stopped. Hooks run
 * in the order they are registered: register an `after` that must run while
 * the server is still up before calling this. Without redis-server the server
 * is not started (the suite skips with `redisSkip()`); under CI=true that is a
 * failure.
 */
export function useRedis(options: { label?: string; args?: string[] } = {}): RedisFixture {
  const label = options.label ?? "t";
  let server: RedisServer | undefined;
  const links: RedisLink[] = [];
  const started = (): RedisServer => {
    if (!server) throw new Error("redis-server is not started");
    return server;
  };
  before(async () => {
    if (redisSkip() === false) server = await startRedis(options.args);
  });
  after(async () => {
    await Promise.all(links.map((l) => l.close()));
    await server?.stop();
  });
  return {
    get server() {
      return started();
    },
    get url() {
      return started().url;
    },
    get port() {
      return started().port;
    },
    get pid() {
      return started().pid;
    },
    kill: () => started().kill(),
    restart: () => started().restart(),
    link(prefix) {
      const made = new RedisLink({ url: started().url, prefix });
      links.push(made);
      return made;
    },
    prefix: (name) => `${label}-${process.pid}-${++prefixes}${name === undefined ? "" : `-${name}`}`,
  };
}
