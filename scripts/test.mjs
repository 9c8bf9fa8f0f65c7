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
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, symlinkSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;

/** Every file under `dir`, as paths relative to the project. */
function allFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...allFiles(full));
    else out.push(relative(root, full));
  }
  return out;
}

const isReliability = (f) => f.startsWith("test/reliability/");
const isCluster = (f) => f.startsWith("test/cluster/") || /redis|cluster/.test(basename(f));

const args = process.argv.slice(2);
const reliabilityOnly = args.includes("--reliability");
const clusterOnly = args.includes("--cluster");
const filters = args.filter((a) => a !== "--reliability" && a !== "--cluster");
const sources = [...allFiles(join(root, "src")), ...allFiles(join(root, "test"))];
const files = sources
  .filter((f) => f.startsWith("test/") && f.endsWith(".test.ts"))
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

/** Whether a process with this id is running. */
function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === "EPERM";
  }
}

// The tests run from JavaScript transpiled into .test-build/ (src/ and test/
// side by side, as in the project), not through a TypeScript loader: a
// loader costs each test process about half a second of CPU, and there are
// a hundred of them. esbuild transpiles file by file, as the loader did, so
// the code that runs is the same. The type check is tsc's, above and in
// `npm run typecheck`. Files that are not TypeScript (fixtures, .mjs
// helpers) are copied beside them; tests that read the project's own files
// find its root through test/helpers/paths.ts. Each run builds into a
// folder of its own, so two runs side by side never share one.
const buildRoot = join(root, ".test-build");
mkdirSync(buildRoot, { recursive: true });
for (const name of readdirSync(buildRoot)) {
  // A run killed before its clean-up left its folder: remove those of runs that are gone.
  const pid = Number(/^run-(\d+)$/.exec(name)?.[1]);
  if (!pid || !isAlive(pid)) rmSync(join(buildRoot, name), { recursive: true, force: true });
}
const buildDir = join(buildRoot, `run-${process.pid}`);
const { build } = await import("esbuild");
await build({
  entryPoints: sources.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts")).map((f) => join(root, f)),
  outdir: buildDir,
  outbase: root,
  format: "esm",
  platform: "node",
  target: "node20",
  // The lazy require() of src/util/lazy.ts callers is meant for the bundle; here it stays as written.
  logLevel: "error",
});
for (const file of sources.filter((f) => f.startsWith("test/") && !f.endsWith(".ts"))) {
  mkdirSync(dirname(join(buildDir, file)), { recursive: true });
  copyFileSync(join(root, file), join(buildDir, file));
}
// src/cli/main.ts reads the version from the package.json above src/.
symlinkSync(join(root, "package.json"), join(buildDir, "package.json"));
const built = files.map((f) => relative(root, join(buildDir, f.replace(/\.ts$/, ".js"))));

const result = spawnSync(
  process.execPath,
  // The timeout only catches a hang. Files that spawn many CLI processes take
  // well over two minutes on a 2-core machine that is busy with other work,
  // so the guard is five minutes, not two.
  // The cluster files run scenarios of three serve processes each: their guard is 20 minutes.
  ["--test", `--test-concurrency=${process.env.FORAGER_TEST_CONCURRENCY ?? 2}`, `--test-timeout=${clusterOnly ? 1_200_000 : 300_000}`, ...built],
  { cwd: root, stdio: "inherit" },
);
rmSync(buildDir, { recursive: true, force: true });
process.exit(result.status ?? 1);
