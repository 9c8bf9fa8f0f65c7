/**
 * Per-node progress of `run` on stderr (SPEC 1): on a terminal one line per
 * node, redrawn in place as it starts, retries and ends; in JSON log mode
 * one JSON object per node start and end. Hidden by -q (it is info).
 */
import type { ForagerEvent } from "../events/types.js";
import { formatDuration, plainPaint, type Paint } from "./format-result.js";
import type { StderrSink } from "./stderr.js";

export class Progress {
  constructor(
    private readonly sink: StderrSink,
    private readonly paint: Paint = plainPaint,
  ) {}

  onEvent(event: ForagerEvent): void {
    if (this.sink.format === "json") return this.json(event);
    const node = event.node_id ?? "";
    const ms = typeof event.data.duration_ms === "number" ? this.paint.dim(` ${formatDuration(event.data.duration_ms)}`) : "";
    switch (event.type) {
      case "node_started":
        return this.sink.partial(this.paint.dim(`▸ ${node}`));
      case "node_retry":
        return this.sink.redraw(this.paint.dim(`↻ ${node} (attempt ${String(event.data.attempt ?? "")})`), false);
      case "node_completed":
        return this.sink.redraw(`${this.paint.ok("✔")} ${node}${ms}`, true);
      case "node_failed":
        return this.sink.redraw(`${this.paint.bad("✘")} ${node}${ms}`, true);
      default:
        return;
    }
  }

  private json(event: ForagerEvent): void {
    if (event.type !== "node_started" && event.type !== "node_completed" && event.type !== "node_failed" && event.type !== "node_retry") return;
    const fields: Record<string, unknown> = { event: event.type, node_id: event.node_id, execution_id: event.execution_id };
    if (typeof event.data.duration_ms === "number") fields.duration_ms = event.data.duration_ms;
    if (event.type === "node_retry") fields.attempt = event.data.attempt;
    this.sink.line(event.type === "node_failed" ? "warn" : "info", `${event.type.replace("_", " ")} ${event.node_id ?? ""}`, fields);
  }
}
