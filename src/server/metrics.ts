/**
 * `GET /metrics` in the Prometheus text format (version 0.0.4). Counts come
 * from the runtime's stats at scrape time; durations and token counts come
 * from bus events, collected as they happen.
 */
import type { ForagerEvent } from "../events/types.js";
import type { RuntimeHandle, RuntimeStats } from "../runtime/types.js";
import type { WebhookStats } from "./webhook-stats.js";

/** Upper bounds (seconds) of the execution duration histogram. */
export const DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

interface Histogram {
  labels: Record<string, string>;
  buckets: number[];
  count: number;
  sum: number;
}

const TERMINAL_EVENTS = new Set(["execution_completed", "execution_failed", "execution_cancelled"]);

export class MetricsCollector {
  private readonly durations = new Map<string, Histogram>();
  private readonly tokens = new Map<string, { labels: Record<string, string>; value: number }>();
  private readonly startedAt = new Map<string, number>();
  private unsubscribe?: () => void;

  /** Starts listening to the bus. */
  attach(runtime: Pick<RuntimeHandle, "subscribe">): void {
    this.unsubscribe = runtime.subscribe((event) => this.observe(event), {
      types: ["execution_started", "execution_completed", "execution_failed", "execution_cancelled", "llm_turn_complete"],
    });
  }

  detach(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  observe(event: ForagerEvent): void {
    const agent = event.graph_id ?? "";
    const entryPoint = event.stream_id ?? "";
    if (event.type === "execution_started" && event.execution_id) {
      this.startedAt.set(event.execution_id, Date.parse(event.timestamp));
      return;
    }
    if (TERMINAL_EVENTS.has(event.type)) {
      const id = event.execution_id ?? "";
      const started = this.startedAt.get(id);
      this.startedAt.delete(id);
      const given = event.data.duration_ms;
      const ms = typeof given === "number" ? given : started !== undefined ? Date.parse(event.timestamp) - started : undefined;
      // An execution cancelled while queued never ran: it has no duration.
      if (ms === undefined || !Number.isFinite(ms)) return;
      const status = typeof event.data.status === "string" ? event.data.status : event.type.replace("execution_", "");
      this.observeDuration({ agent, entry_point: entryPoint, status }, ms / 1000);
      return;
    }
    if (event.type === "llm_turn_complete") {
      const usage = (typeof event.data.usage === "object" && event.data.usage !== null ? event.data.usage : event.data) as Record<string, unknown>;
      for (const direction of ["input", "output"] as const) {
        const value = usage[`${direction}_tokens`];
        if (typeof value !== "number" || !Number.isFinite(value)) continue;
        const labels = { agent, direction };
        const key = labelKey(labels);
        const entry = this.tokens.get(key) ?? { labels, value: 0 };
        entry.value += value;
        this.tokens.set(key, entry);
      }
    }
  }

  private observeDuration(labels: Record<string, string>, seconds: number): void {
    const key = labelKey(labels);
    const histogram = this.durations.get(key) ?? { labels, buckets: DURATION_BUCKETS.map(() => 0), count: 0, sum: 0 };
    DURATION_BUCKETS.forEach((bound, i) => {
      if (seconds <= bound) histogram.buckets[i]! += 1;
    });
    histogram.count += 1;
    histogram.sum += seconds;
    this.durations.set(key, histogram);
  }

  render(stats: RuntimeStats, webhooks?: WebhookStats): string {
    const out = new MetricsText();
    out.family("forager_up", "gauge", "1 while the runtime is running", [[{}, stats.running ? 1 : 0]]);
    out.family("forager_uptime_seconds", "gauge", "Seconds since the runtime started", [[{}, stats.uptime_seconds]]);
    out.family("forager_timers_paused", "gauge", "1 while timers are paused", [[{}, stats.timers_paused ? 1 : 0]]);
    out.family("forager_active_executions", "gauge", "Executions running now", [[{}, stats.active_executions]]);
    out.family("forager_queued_executions", "gauge", "Executions waiting in queues", [[{}, stats.queued_executions]]);
    out.family("forager_max_concurrent_executions", "gauge", "Process-wide limit on running executions", [
      [{}, stats.max_concurrent_executions],
    ]);

    const byStatus: [Record<string, string>, number][] = [];
    const queueDepth: [Record<string, string>, number][] = [];
    const slots: [Record<string, string>, number][] = [];
    for (const stream of Object.values(stats.streams)) {
      const base = { agent: stream.agent, entry_point: stream.entry_point };
      for (const [status, count] of Object.entries(stream.status_counts)) {
        if (typeof count === "number") byStatus.push([{ ...base, status }, count]);
      }
      queueDepth.push([base, stream.status_counts.queued ?? 0]);
      slots.push([base, stream.available_slots]);
    }
    out.family("forager_executions", "gauge", "Executions by agent, entry point and status since start", byStatus);
    out.family("forager_queue_depth", "gauge", "Executions queued per entry point", queueDepth);
    out.family("forager_available_slots", "gauge", "Free execution slots per entry point", slots);

    const histograms = [...this.durations.values()];
    out.header("forager_execution_duration_seconds", "histogram", "Execution duration from start to end");
    for (const h of histograms) {
      DURATION_BUCKETS.forEach((bound, i) => out.sample("forager_execution_duration_seconds_bucket", { ...h.labels, le: String(bound) }, h.buckets[i]!));
      out.sample("forager_execution_duration_seconds_bucket", { ...h.labels, le: "+Inf" }, h.count);
      out.sample("forager_execution_duration_seconds_sum", h.labels, h.sum);
      out.sample("forager_execution_duration_seconds_count", h.labels, h.count);
    }

    const fired: [Record<string, string>, number][] = [];
    const skipped: [Record<string, string>, number][] = [];
    for (const [id, timer] of Object.entries(stats.timers)) {
      fired.push([{ timer: id }, timer.fired]);
      skipped.push([{ timer: id }, timer.skipped]);
    }
    out.family("forager_timer_fires_total", "counter", "Timer ticks that triggered an execution", fired);
    out.family("forager_timer_skips_total", "counter", "Timer ticks skipped (paused or agent busy)", skipped);

    const responses = webhooks?.responses() ?? [];
    out.family(
      "forager_webhook_requests_total",
      "counter",
      "Webhook deliveries by route and HTTP status",
      responses.map((r) => [{ source_id: r.source_id, status: String(r.status) }, r.count]),
    );
    const outcomes: [Record<string, string>, number][] = [];
    for (const [source, counts] of Object.entries(webhooks?.snapshot() ?? {})) {
      for (const [outcome, count] of Object.entries(counts)) outcomes.push([{ source_id: source, outcome }, count]);
    }
    out.family("forager_webhook_outcomes_total", "counter", "Webhook deliveries accepted, rejected or duplicate", outcomes);

    out.family(
      "forager_llm_tokens_total",
      "counter",
      "LLM tokens by agent and direction",
      [...this.tokens.values()].map((t) => [t.labels, t.value]),
    );
    out.family("forager_events_total", "counter", "Events published on the bus", [[{}, stats.event_bus.total_events]]);
    return out.toString();
  }
}

function labelKey(labels: Record<string, string>): string {
  return JSON.stringify(Object.entries(labels));
}

class MetricsText {
  private lines: string[] = [];

  header(name: string, type: string, help: string): void {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  }

  sample(name: string, labels: Record<string, string>, value: number): void {
    const entries = Object.entries(labels);
    const text = entries.length === 0 ? "" : `{${entries.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}`;
    this.lines.push(`${name}${text} ${formatValue(value)}`);
  }

  family(name: string, type: string, help: string, samples: [Record<string, string>, number][]): void {
    this.header(name, type, help);
    for (const [labels, value] of samples) this.sample(name, labels, value);
  }

  toString(): string {
    return `${this.lines.join("\n")}\n`;
  }
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}
