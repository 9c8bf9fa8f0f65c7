import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { discoverServer } from "../../src/client/discovery.js";
import { ControlClient } from "../../src/client/control-client.js";
import { ConnectionError } from "../../src/errors.js";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "forager-discovery-"));
});
after(() => rm(dir, { recursive: true, force: true }));

async function serveJson(storage: string, info: Record<string, unknown>): Promise<void> {
  await mkdir(storage, { recursive: true });
  await writeFile(join(storage, "serve.json"), JSON.stringify(info));
}

describe("discovery precedence", () => {
  test("flags win over env, env over serve.json", async () => {
    const storage = join(dir, "a");
    await serveJson(storage, { pid: process.pid, url: "http://127.0.0.1:3/", token: "file-token" });
    const env = { FORAGER_URL: "http://127.0.0.1:2", FORAGER_TOKEN: "env-token", FORAGER_STORAGE: storage };
    assert.deepEqual(await discoverServer({ url: "http://127.0.0.1:1/", token: "flag-token", env, cwd: dir }), {
      url: "http://127.0.0.1:1",
      token: "flag-token",
      source: "flags",
    });
    assert.deepEqual(await discoverServer({ env, cwd: dir }), { url: "http://127.0.0.1:2", token: "env-token", source: "env" });
    const fromFile = await discoverServer({ env: { FORAGER_STORAGE: storage }, cwd: dir });
    assert.deepEqual(fromFile, { url: "http://127.0.0.1:3", token: "file-token", source: "serve.json", pid: process.pid });
  });

  test("--storage wins over FORAGER_STORAGE, which wins over ./storage", async () => {
    await serveJson(join(dir, "flag"), { pid: process.pid, url: "http://127.0.0.1:10", token: "t-flag" });
    await serveJson(join(dir, "envdir"), { pid: process.pid, url: "http://127.0.0.1:11", token: "t-env" });
    await serveJson(join(dir, "storage"), { pid: process.pid, url: "http://127.0.0.1:12", token: "t-default" });
    const env = { FORAGER_STORAGE: join(dir, "envdir") };
    assert.equal((await discoverServer({ storage: "flag", env, cwd: dir })).token, "t-flag");
    assert.equal((await discoverServer({ env, cwd: dir })).token, "t-env");
    assert.equal((await discoverServer({ env: {}, cwd: dir })).token, "t-default");
  });

  test("no serve.json, a dead pid, or a refused connection: the one-line 'no running forager serve' error", async () => {
    await assert.rejects(discoverServer({ storage: join(dir, "empty"), env: {}, cwd: dir }), (err: unknown) => {
      assert.ok(err instanceof ConnectionError);
      assert.match(err.message, /^no running forager serve found \(no .*serve\.json\); start one with `forager serve agent\.yaml`, point at its storage with --storage DIR \(or FORAGER_STORAGE\), or pass --url\/--token \(or FORAGER_URL\/FORAGER_TOKEN\)$/);
      return true;
    });
    await serveJson(join(dir, "stale"), { pid: 2 ** 22 + 12345, url: "http://127.0.0.1:9", token: "x" });
    await assert.rejects(discoverServer({ storage: join(dir, "stale"), env: {}, cwd: dir }), /no running forager serve found \(.*not running\)/);
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const client = new ControlClient({ url: `http://127.0.0.1:${port}`, token: "x", source: "flags" });
    await assert.rejects(client.stats(), /no running forager serve found \(http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED\)/);
  });
});
