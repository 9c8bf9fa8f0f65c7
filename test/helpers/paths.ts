// Where the project's files are, whether a test runs from test/ or from its
// build: scripts/test.mjs transpiles src/ and test/ into .test-build/run-<pid>/ so that
// no test process pays for a TypeScript loader. Only TypeScript is built
// there; fixtures, the agents, bin/ and dist/ are read from the project itself.
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The folder of the module at `moduleUrl` in the source tree, also when the module runs from .test-build/. */
export function sourceDir(moduleUrl: string): string {
  return dirname(fileURLToPath(moduleUrl)).replace(/([\\/])\.test-build[\\/]run-\d+(?=[\\/])/, "");
}

/** The project's root folder. */
export const repoRoot = resolve(sourceDir(import.meta.url), "../..");
