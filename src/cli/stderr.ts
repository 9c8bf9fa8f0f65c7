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

  /** A progress line written without its newline, still open for redrawing. */
  private open = false;

  /** Text as it is: logger output (already formatted) and terminal control sequences. */
  raw(text: string): void {
    this.count++;
    // Another line arrives while progress is drawn in place: end that line first.
    if (this.open) {
      this.open = false;
      this.write("\n");
    }
    this.write(text);
  }

  /** A line left open (no newline) so `redraw` can replace it in place on a terminal. */
  partial(text: string): void {
    this.raw(text);
    this.open = true;
  }

  /** Replaces the open line when nothing was written since; otherwise starts a new one. */
  redraw(text: string, done: boolean): void {
    const reuse = this.open;
    this.open = false;
    this.count++;
    this.write(`${reuse ? "\r\u001b[K" : ""}${text}${done ? "\n" : ""}`);
    if (!done) this.open = true;
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
