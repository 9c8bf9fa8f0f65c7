// Runs every test file under test/ with Node's test runner. Node 20's
// --test does not expand globs, so the files are listed here.
// Usage: node scripts/test.mjs [path-substring ...]
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;

function collect(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...collect(full));
    else if (name.endsWith(".test.ts")) out.push(relative(root, full));
  }
  return out;
}

const filters = process.argv.slice(2);
const files = collect(join(root, "test"))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error("no test files matched");
  process.exit(1);
}

// Integration tests spawn bin/forager.js, which runs dist/: build first so
// they never test stale output. A type error fails the run.
if (process.env.FORAGER_TEST_SKIP_BUILD !== "1") {
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
  const build = spawnSync(process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: root, stdio: "inherit" });
  if (build.status !== 0 && process.env.FORAGER_TEST_ALLOW_TYPE_ERRORS !== "1") {
    console.error("type check failed: fix the errors above");
    process.exit(build.status ?? 1);
  }
  // bin/forager.js runs the bundle made from dist/.
  const bundle = spawnSync(process.execPath, [join(root, "scripts", "bundle.mjs")], { cwd: root, stdio: "inherit" });
  if (bundle.status !== 0) process.exit(bundle.status ?? 1);
}

const result = spawnSync(
  process.execPath,
  ["--import", "tsx", "--test", "--test-concurrency=2", "--test-timeout=120000", ...files],
  { cwd: root, stdio: "inherit" },
);
process.exit(result.status ?? 1);
