/**
 * Whether the command line asks for JSON on stdout, read from raw argv so
 * it is known even when commander rejected the flags: a pipeline reading
 * stdout must get the SPEC 1 error document then too.
 */
export function wantedJson(argv: readonly string[]): "json" | "stream" | undefined {
  for (const arg of argv) {
    if (arg === "--") return undefined;
    if (arg === "--stream-json") return "stream";
    if (arg === "--json") return "json";
  }
  return undefined;
}
