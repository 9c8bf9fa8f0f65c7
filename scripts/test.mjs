// Runs the test files under test/ with Node's test runner. Node 20's
// --test does not expand globs, so the files are listed here.
//
// Usage: node scripts/test.mjs [path-substring ...]
//        node scripts/test.mjs --reliability   (the long reliability runs only)
//        node scripts/test.mjs --cluster       (test/cluster only: real serve processes on a Redis)
//
// Without arguments it runs everything except the long reliability runs
// (a 60 s soak and a 5 000-webhook flood), which alone take longer than the
// rest of the suite: `npm run test:reliability` runs those, and CI runs
// both. A path substring selects any file, long ones included. The cluster
// suite (test/cluster: three serve processes on a redis-server of its own)
// is kept out of a plain run too: `npm run test:cluster` runs it.
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

/** The long reliability runs, kept out of a plain `npm test`. */
const LONG_RUNS = ["test/reliability/soak.test.ts", "test/reliability/flood.test.ts"];

/** The cluster suite, kept out of a plain `npm test` as well. */
const isCluster = (f) => f.startsWith("test/cluster/");

const args = process.argv.slice(2);
const longOnly = args.includes("--reliability");
const clusterOnly = args.includes("--cluster");
const filters = args.filter((a) => a !== "--reliability" && a !== "--cluster");
const files = collect(join(root, "test"))
  .filter((f) => {
    if (longOnly) return LONG_RUNS.includes(f);
    if (clusterOnly) return isCluster(f);
    if (filters.length > 0) return filters.some((s) => f.includes(s));
    return !LONG_RUNS.includes(f) && !isCluster(f);
  })
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
  // The timeout only catches a hang. Files that spawn many CLI processes take
  // well over two minutes on a 2-core machine that is busy with other work,
  // so the guard is five minutes, not two.
  // The cluster file runs eight scenarios of three serve processes each: its guard is 20 minutes.
  ["--import", "tsx", "--test", "--test-concurrency=2", `--test-timeout=${clusterOnly ? 1_200_000 : 300_000}`, ...files],
  { cwd: root, stdio: "inherit" },
);
process.exit(result.status ?? 1);
