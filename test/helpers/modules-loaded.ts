/**
 * Which modules a fresh `node` loads for a piece of code: heavy packages
 * must load on first use, not on import. Records every URL the ES module
 * loader resolves (a resolve hook), so a static import anywhere in the graph
 * shows up, and, once the code has run, every file in the CommonJS require
 * cache (packages forager loads on first use with require()).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, sep } from "node:path";
import { repoRoot } from "./paths.js";
import { pathToFileURL } from "node:url";

/** The project's root folder, with a trailing separator. */
export const root = `${repoRoot}${sep}`;

/** Runs `code` as an ES module in a fresh node (against dist/) and returns every module URL it loaded. */
export async function modulesLoadedBy(code: string): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), "forager-modules-loaded-"));
  try {
    const log = join(dir, "loaded.txt");
    await writeFile(
      join(dir, "hooks.mjs"),
      `import { appendFileSync } from "node:fs";
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(${JSON.stringify(log)}, result.url + "\\n");
  return result;
}`,
    );
    await writeFile(
      join(dir, "register.mjs"),
      `import { register } from "node:module"; register(${JSON.stringify(pathToFileURL(join(dir, "hooks.mjs")).href)});`,
    );
    await writeFile(log, "");
    // Runs after `code`: what require() loaded (CommonJS and require(esm)) is listed too.
    const listRequired = `
      const { createRequire: __createRequire } = await import("node:module");
      const { appendFileSync: __append } = await import("node:fs");
      const { pathToFileURL: __toUrl } = await import("node:url");
      __append(${JSON.stringify(log)}, Object.keys(__createRequire(import.meta.url).cache).map((f) => __toUrl(f).href + "\\n").join(""));`;
    const run = spawnSync(process.execPath, ["--import", pathToFileURL(join(dir, "register.mjs")).href, "--input-type=module", "-e", `${code}\n${listRequired}`], {
      cwd: root,
      encoding: "utf8",
      timeout: 30_000,
    });
    assert.equal(run.status, 0, run.stderr);
    return (await readFile(log, "utf8")).split("\n").filter(Boolean);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
