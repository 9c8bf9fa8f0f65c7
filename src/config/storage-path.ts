/**
 * Where sessions live (SPEC 1). Its own module, free of the schema and the
 * YAML parser, so commands that only read storage need not load them.
 */
import { resolve } from "node:path";

/**
 * Where sessions live: `--storage`, else FORAGER_STORAGE, else
 * runtime.storage_path, else ./storage; relative paths against `cwd`.
 */
export function resolveStoragePath(options: {
  flag?: string;
  env?: NodeJS.ProcessEnv;
  runtimeStoragePath?: string;
  cwd: string;
}): string {
  const env = options.env ?? process.env;
  const chosen =
    nonEmpty(options.flag) ?? nonEmpty(env.FORAGER_STORAGE) ?? nonEmpty(options.runtimeStoragePath) ?? "./storage";
  // An absolute path ignores cwd.
  return resolve(options.cwd, chosen);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
}
