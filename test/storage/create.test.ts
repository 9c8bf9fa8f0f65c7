import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { createIngestLog, createKeyStore, createSessionStore, createStateStore } from "../../src/storage/create.js";
import { FileIngestLog, noIngestLog } from "../../src/storage/ingest-log.js";
import { FileKeyStore, MemoryKeyStore } from "../../src/storage/keys.js";
import { MemorySessionStore } from "../../src/storage/memory.js";
import { FileSessionStore } from "../../src/storage/sessions.js";
import { FileStateStore, MemoryStateStore } from "../../src/storage/state.js";
import { withTempDir } from "./helpers.js";

test("a storage folder gets the file stores, all under that folder", () =>
  withTempDir(async (dir) => {
    const sessions = createSessionStore({}, { storagePath: dir });
    assert.ok(sessions instanceof FileSessionStore);
    assert.equal(sessions.root, dir);
    const state = createStateStore({}, { storagePath: dir });
    assert.ok(state instanceof FileStateStore);
    assert.equal(state.root, dir);
    const keys = createKeyStore({}, { storagePath: dir });
    assert.ok(keys instanceof FileKeyStore);
    assert.equal(keys.dir, join(dir, "_keys"));
    const log = createIngestLog({}, { storagePath: dir });
    assert.ok(log instanceof FileIngestLog);
    assert.equal(log.root, dir);
  }));

test("no storage folder gets the in-memory stores and no ingest log", () => {
  assert.ok(createSessionStore({}, {}) instanceof MemorySessionStore);
  assert.ok(createStateStore({}, {}) instanceof MemoryStateStore);
  assert.ok(createKeyStore({}, {}) instanceof MemoryKeyStore);
  assert.equal(createIngestLog({}, {}), noIngestLog);
});
