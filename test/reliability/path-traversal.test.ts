/**
 * Ids and names from requests never become paths outside storage (SPEC 6):
 * `GET /executions?agent=../x` is a 404 for an agent that is not loaded, and
 * neither lists nor writes anything outside the storage folder; execution
 * ids in paths that could leave their folder are 404 too.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FileSessionStore } from "../../src/storage/sessions.js";
import { tempDir } from "../helpers/cli.js";
import { startServe, stopHard, type ServeProcess } from "./helpers.js";
import type { ErrorBody } from "../helpers/api-types.js";

/** A valid-looking execution record in `<root>/<agent>/sessions/<session>/`. */
function plantRecord(root: string, agent: string): void {
  const session = "session_20260101_000000_deadbeef";
  const dir = join(root, agent, "sessions", session);
  mkdirSync(dir, { recursive: true });
  const record = {
    schema_version: 1,
    execution_id: "exec_01OUTSIDE0000000000000000",
    session_id: session,
    agent,
    entry_point: "api",
    status: "completed",
    queued_at: "2026-01-01T00:00:00.000Z",
    started_at: "2026-01-01T00:00:00.000Z",
    finished_at: "2026-01-01T00:00:01.000Z",
  };
  writeFileSync(join(dir, `${record.execution_id}.json`), JSON.stringify(record));
}

describe("ids from requests never reach a path outside storage", () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let serve: ServeProcess | undefined;
  let storage: string;
  before(async () => {
    dir = await tempDir("forager-rel-traversal-");
    storage = join(dir.path, "storage");
    // A folder beside storage that looks like an agent's: `?agent=../evil` pointed here.
    plantRecord(dir.path, "evil");
    serve = await startServe(storage, { env: { TICK_SECONDS: "3600", LOG_LEVEL: "warn" } });
  });
  after(async () => {
    await stopHard(serve);
    await dir.cleanup();
  });

  test("?agent= that is not loaded is 404, lists nothing and writes nothing", async () => {
    const s = serve!;
    for (const agent of ["../evil", "..%2Fevil", "../../tmp", "/etc", "evil", "LOADTEST", "a/b", "..", "x".repeat(300)]) {
      const res = await s.control(`/executions?agent=${encodeURIComponent(agent)}`);
      const body = (await res.json()) as ErrorBody;
      assert.equal(res.status, 404, `agent=${agent}: ${JSON.stringify(body)}`);
      assert.equal(body.error.code, "not_found");
    }
    assert.equal(existsSync(join(dir.path, "evil", "index.jsonl")), false, "no index written outside storage");
    assert.deepEqual(readdirSync(join(dir.path, "evil")), ["sessions"]);
    // The loaded agent still lists.
    const ok = await s.control("/executions?agent=loadtest");
    assert.equal(ok.status, 200);
    assert.ok(Array.isArray(await ok.json()));
  });

  test("execution ids that could leave their folder are 404", async () => {
    const s = serve!;
    for (const id of ["..%2F..%2Fevil", "..", "%2Fetc%2Fpasswd", "exec_01OUTSIDE0000000000000000%2F..", ".hidden"]) {
      for (const [method, path] of [["GET", `/executions/${id}`], ["POST", `/executions/${id}/cancel`]] as const) {
        const res = await s.control(path, { method });
        await res.arrayBuffer();
        assert.equal(res.status, 404, `${method} ${path}`);
      }
    }
  });

  test("many distinct unknown agents cost nothing that stays", async () => {
    const s = serve!;
    const started = Date.now();
    for (let i = 0; i < 200; i++) {
      const res = await s.control(`/executions?agent=nope-${i}`);
      await res.arrayBuffer();
      assert.equal(res.status, 404);
    }
    // None of them became a folder or index in storage.
    assert.deepEqual(readdirSync(storage).filter((n) => n.startsWith("nope-")), []);
    const res = await s.control("/executions?agent=loadtest");
    assert.equal(res.status, 200);
    console.log(`# path-traversal: 200 unknown agents answered in ${Date.now() - started} ms`);
  });
});

describe("FileSessionStore refuses names that are not ids", () => {
  test("list and get with traversal values read and write nothing; paths throw", async () => {
    const dir = await tempDir("forager-store-traversal-");
    try {
      const root = join(dir.path, "storage");
      plantRecord(dir.path, "evil");
      const store = new FileSessionStore(root);
      await store.init();
      assert.deepEqual(await store.list({ agent: "../evil" }), []);
      assert.equal(await store.get("../evil/sessions/session_20260101_000000_deadbeef/exec_01OUTSIDE0000000000000000"), undefined);
      assert.equal(existsSync(join(dir.path, "evil", "index.jsonl")), false);
      assert.throws(() => store.sessionDir("../evil", "session_x"), /not a valid agent name/);
      assert.throws(() => store.sessionDir("evil", "../../x"), /not a valid agent name or session id/);
      assert.throws(() => store.recordPath("evil", "session_x", "../x"), /not a valid execution id/);
      await assert.rejects(store.readEvents("../evil", "session_x"), /not a valid agent name/);
    } finally {
      await dir.cleanup();
    }
  });
});
