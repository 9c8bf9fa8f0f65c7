/**
 * Everything the CLI writes to stderr passes through one sink: in JSON log
 * mode every line must be a JSON object (SPEC 2), and the progress display
 * needs to know whether its line is still the last one on the terminal.
 */
import { scrubSecrets } from "../logging/redact.js";
import type { LogFormat } from "../logging/levels.js";

export type LineLevel = "debug" | "info" | "warn" | "error";

const PREFIX: Record<LineLevel, string> = { debug: "", info: "", warn: "warning: ", error: "error: " };

export class StderrSink {
  /** Counts writes from anyone (logger included), so progress can tell if another line came after its own. */
  private count = 0;

  constructor(
    readonly format: LogFormat,
    private readonly write: (text: string) => void = (text) => process.stderr.write(text),
  ) {}

  get writes(): number {
    return this.count;
  }

  /** Text as it is: logger output (already formatted) and terminal control sequences. */
  raw(text: string): void {
    this.count++;
    this.write(text);
  }

  /** One message: `error: msg` for people, a JSON object with `time`, `level`, `msg` in JSON mode. */
  line(level: LineLevel, msg: string, fields: Record<string, unknown> = {}): void {
    if (this.format === "json") {
      this.raw(`${scrubSecrets(JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }))}\n`);
    } else {
      this.raw(`${PREFIX[level]}${msg}\n`);
    }
  }

  /**
   * Free text written by commands (`error: ...`, `hint: ...`). In JSON mode
   * each line becomes one object, its level read from the prefix.
   */
  text(text: string): void {
    if (this.format !== "json") {
      this.raw(text);
      return;
    }
    for (const line of text.split("\n")) {
      if (line.trim() === "") continue;
      const match = /^(error|warning|hint):\s*(.*)$/s.exec(line);
      const level: LineLevel = match?.[1] === "error" ? "error" : match?.[1] === "warning" ? "warn" : "info";
      this.line(level, match ? match[2]! : line, match?.[1] === "hint" ? { hint: true } : {});
    }
  }
}
