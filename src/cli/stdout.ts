/**
 * stdout closed early by its reader (`forager schema | head -5`) is not an
 * error: the reader has what it wanted. The command ends quietly, exit 0,
 * as `cat` and `git log` do, instead of an EPIPE stack trace.
 */
let closed = false;

function isClosedPipe(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === "EPIPE" || code === "ERR_STREAM_DESTROYED";
}

/** Installs the handlers once, before anything is written. */
export function guardStdout(): void {
  process.stdout.on("error", (err) => {
    if (isClosedPipe(err)) {
      closed = true;
      process.exit(0);
    }
    process.stderr.write(`error: cannot write to stdout: ${err.message}\n`);
    process.exit(1);
  });
  // A closed stderr leaves nowhere to complain to: carry on without it.
  process.stderr.on("error", () => {});
}

/** Writes the command's result; a no-op once the reader has gone. */
export function writeStdout(text: string): void {
  if (closed || process.stdout.destroyed) return;
  process.stdout.write(text);
}
