// Runs the test files under test/ with Node's test runner. Node 20's
// --test does not expand globs, so the files are listed here.
//
// Usage: node scripts/test.mjs [path-substring ...]
//        node scripts/test.mjs --reliability   (test/reliability: attacks, faults, crashes, the soak and the flood)
//        node scripts/test.mjs --cluster       (everything on a redis-server: the Redis stores and the cluster)
//
// A plain run is the everyday suite: the CLI, the server, the runtime and
// every module, on one process and its files. Two suites are kept out of it
// because they take longer than all the rest together, and CI runs both:
// - `npm run test:reliability`: test/reliability, the fault injection,
//   fuzzing, crash and attack suite, with its 60 s soak and 5 000-webhook
//   flood;
// - `npm run test:cluster`: every file that runs on a real redis-server
//   (a file named *redis* or *cluster*, and test/cluster with three serve
//   processes per scenario), which each start their own on a free port.
// A path substring selects any file, whichever suite it belongs to.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { basename, join, relative } from "node:path";

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

const isReliability = (f) => f.startsWith("test/reliability/");
const isCluster = (f) => f.startsWith("test/cluster/") || /redis|cluster/.test(basename(f));

const args = process.argv.slice(2);
const reliabilityOnly = args.includes("--reliability");
const clusterOnly = args.includes("--cluster");
const filters = args.filter((a) => a !== "--reliability" && a !== "--cluster");
const files = collect(join(root, "test"))
  .filter((f) => {
    if (reliabilityOnly) return isReliability(f);
    if (clusterOnly) return isCluster(f);
    if (filters.length > 0) return filters.some((s) => f.includes(s));
    return !isReliability(f) && !isCluster(f);
  })
  .sort();
if (files.length === 0) {
  console.error("no test files matched");
  process.exit(1);
}

/** The newest modification time under `path` (a file or a folder). */
function newest(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = stat.mtimeMs;
  for (const name of readdirSync(path)) latest = Math.max(latest, newest(join(path, name)));
  return latest;
}

/**
 * Whether dist/ is older than what it is built from. The bundle is written
 * last, and only after tsc passed, so a bundle newer than every source is a
 * checked, current build (`npm ci` and `npm install` make one).
 */
function buildIsStale() {
  const bundle = join(root, "dist", "bundle", "cli.js");
  if (!existsSync(bundle)) return true;
  const inputs = ["src", "tsconfig.json", "package.json", "package-lock.json", join("scripts", "bundle.mjs")];
  const built = statSync(bundle).mtimeMs;
  return inputs.some((input) => existsSync(join(root, input)) && newest(join(root, input)) > built);
}

// Integration tests spawn bin/forager.js, which runs dist/: build first when
// src/ changed since the last build, so they never test stale output. A type
// error fails the run. FORAGER_TEST_SKIP_BUILD=1 skips the check (CI, after
// one run has built).
if (process.env.FORAGER_TEST_SKIP_BUILD !== "1" && buildIsStale()) {
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
  // The cluster files run scenarios of three serve processes each: their guard is 20 minutes.
  ["--import", "tsx", "--test", "--test-concurrency=2", `--test-timeout=${clusterOnly ? 1_200_000 : 300_000}`, ...files],
  { cwd: root, stdio: "inherit" },
);
process.exit(result.status ?? 1);
