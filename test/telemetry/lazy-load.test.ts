// Without an OTLP endpoint, `forager run` loads no OpenTelemetry module at
// all (start-up stays as fast as before); with one, it does.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { binPath, repoRoot, tempDir } from "../helpers/cli.js";
import { OtlpReceiver } from "./otlp-receiver.js";

let dir: { path: string; cleanup: () => Promise<void> };
const receiver = new OtlpReceiver();

before(async () => {
  dir = await tempDir("forager-otel-lazy-");
  await writeFile(
    join(dir.path, "hooks.mjs"),
    `import { appendFileSync } from "node:fs";
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(process.env.LOADED_LOG, result.url + "\\n");
  return result;
}`,
  );
  await writeFile(
    join(dir.path, "register.mjs"),
    `import { register } from "node:module"; register(${JSON.stringify(pathToFileURL(join(dir.path, "hooks.mjs")).href)});`,
  );
  await receiver.start();
});
after(async () => {
  await receiver.stop();
  await dir.cleanup();
});

/** Every module URL a `forager run` of the quick-start agent resolves, with these extra variables. */
async function modulesLoaded(name: string, extra: Record<string, string>): Promise<string[]> {
  const log = join(dir.path, `${name}.txt`);
  await writeFile(log, "");
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, NO_COLOR: "1", LOG_LEVEL: "warn", LOADED_LOG: log, ...extra };
  const run = spawnSync(
    process.execPath,
    ["--import", pathToFileURL(join(dir.path, "register.mjs")).href, binPath, "run", join(repoRoot, "agents/disk-report.yaml"), "--storage", join(dir.path, name)],
    { cwd: repoRoot, env, encoding: "utf8", timeout: 60_000 },
  );
  assert.equal(run.status, 0, run.stderr);
  return (await readFile(log, "utf8")).split("\n").filter(Boolean);
}

const otel = (urls: string[]) => urls.filter((url) => url.includes("/node_modules/@opentelemetry/"));

test("a run without OTEL_EXPORTER_OTLP_*ENDPOINT loads no @opentelemetry module", async () => {
  const plain = await modulesLoaded("plain", { OTEL_METRICS_EXPORTER: "otlp", FORAGER_OTEL_CAPTURE_CONTENT: "true" });
  assert.ok(plain.some((url) => url.endsWith("/dist/bundle/cli.js")), "the hook saw the CLI load");
  assert.deepEqual(otel(plain), []);
});

test("the same run with an endpoint loads the SDK and exports", async () => {
  const traced = await modulesLoaded("traced", { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces` });
  assert.ok(otel(traced).some((url) => url.includes("/@opentelemetry/sdk-trace-base/")), "the SDK was loaded");
  assert.ok(receiver.spans.some((s) => s.name === "forager.execution disk-report/default"));
});
