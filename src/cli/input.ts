/** Flags `run` and `trigger` share: `--input` and `--timeout`. */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { UsageError } from "../errors.js";
import { isPlainObject } from "../util/json.js";
import type { CliContext } from "./context.js";

/** `--input`: inline JSON, `@path/to/file.json`, or `-` for stdin; always a JSON object. */
export async function readInputFlag(
  value: string | undefined,
  ctx: Pick<CliContext, "cwd" | "readStdin">,
): Promise<Record<string, unknown>> {
  if (value === undefined) return {};
  let text: string;
  let source: string;
  if (value === "-") {
    text = await ctx.readStdin();
    source = "stdin";
  } else if (value.startsWith("@")) {
    const path = resolve(ctx.cwd, value.slice(1));
    source = value.slice(1);
    try {
      text = await readFile(path, "utf8");
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a folder, not a JSON file" : code === "EACCES" ? "permission denied" : (err as Error).message;
      throw new UsageError(`--input @${source}: cannot read it: ${why}`);
    }
  } else {
    text = value;
    source = "--input";
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    // Inline JSON is named once ("--input is not valid JSON"), a file or stdin by where it came from.
    const what = source === "--input" ? "--input" : `--input ${source === "stdin" ? "- (stdin)" : `@${source}`}`;
    throw new UsageError(`${what} is not valid JSON (${reason})`, {
      hint: `pass a JSON object, e.g. --input '{"path": "."}'`,
    });
  }
  if (!isPlainObject(parsed)) {
    const found = parsed === null ? "null" : Array.isArray(parsed) ? "an array" : `a ${typeof parsed}`;
    throw new UsageError(`--input must be a JSON object, found ${found} in ${source}`);
  }
  return parsed;
}

/** `--timeout SEC`: a positive number of seconds. */
export function parseTimeoutFlag(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new UsageError(`--timeout must be a positive number of seconds, got "${value}"`);
  }
  return seconds;
}
