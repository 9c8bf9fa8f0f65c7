/**
 * `GET /metrics` in the Prometheus text format (version 0.0.4), checked by
 * `promtool check metrics`. Counts come from the runtime's stats and the
 * webhook totals at scrape time (in a cluster, the cluster's); durations,
 * tokens, cost and timer lateness come from bus events, collected as they
 * happen. The same families go over OTLP when asked
 * (src/telemetry/otlp-metrics.ts), under their OpenTelemetry names.
 */
import type { ForagerEvent } from "../events/types.js";
import type { RuntimeHandle, RuntimeStats } from "../runtime/types.js";
import type { HistogramFamily, HistogramPoint, Labels, MetricFamily, ScalarFamily } from "../telemetry/metric-family.js";
import type { WebhookTotals } from "./webhook-stats.js";

/** Upper bounds (seconds) of the execution duration histogram. */
export const DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];
/** Upper bounds (seconds) of how late a timer fired after its scheduled time. */
export const LATENESS_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

const TERMINAL_EVENTS = new Set(["execution_completed", "execution_failed", "execution_cancelled"]);

/** Histogram points by label set, with non-cumulative bucket counts. */
class HistogramSeries {
  private readonly points = new Map<string, HistogramPoint>();
  constructor(readonly bounds: readonly number[]) {}

  observe(labels: Labels, value: number): void {
    const key = labelKey(labels);
    let point = this.points.get(key);
    if (!point) {
      point = { labels, counts: new Array<number>(this.bounds.length + 1).fill(0), count: 0, sum: 0 };
      this.points.set(key, point);
    }
    const index = this.bounds.findIndex((bound) => value <= bound);
    point.counts[index === -1 ? this.bounds.length : index]! += 1;
    point.count += 1;
    point.sum += value;
  }

  snapshot(): HistogramPoint[] {
    return [...this.points.values()].map((p) => ({ labels: p.labels, counts: [...p.counts], count: p.count, sum: p.sum }));
  }
}

/** Counter values by label set. */
class CounterSeries {
  private readonly values = new Map<string, { labels: Labels; value: number }>();

  add(labels: Labels, value: number): void {
    const key = labelKey(labels);
    const entry = this.values.get(key) ?? { labels, value: 0 };
    entry.value += value;
    this.values.set(key, entry);
  }

  snapshot(): { labels: Labels; value: number }[] {
    return [...this.values.values()].map((e) => ({ labels: e.labels, value: e.value }));
  }
}

export class MetricsCollector {
  private readonly durations = new HistogramSeries(DURATION_BUCKETS);
  private readonly lateness = new HistogramSeries(LATENESS_BUCKETS);
  private readonly finished = new CounterSeries();
  private readonly tokens = new CounterSeries();
  private readonly cost = new CounterSeries();
  private readonly startedAt = new Map<string, number>();
  private unsubscribe?: () => void;

  /** Starts listening to the bus. */
  attach(runtime: Pick<RuntimeHandle, "subscribe">): void {
    this.unsubscribe = runtime.subscribe((event) => this.observe(event), {
      types: ["execution_started", "execution_completed", "execution_failed", "execution_cancelled", "llm_turn_complete", "timer_fired"],
    }, { scope: "local" });
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
      const status = typeof event.data.status === "string" ? event.data.status : event.type.replace("execution_", "");
      this.finished.add({ agent, entry_point: entryPoint, status }, 1);
      const usage = asRecord(event.data.usage);
      const cost = usage?.cost_usd;
      if (typeof cost === "number" && Number.isFinite(cost) && cost > 0) this.cost.add({ agent }, cost);
      const given = event.data.duration_ms;
      const ms = typeof given === "number" ? given : started !== undefined ? Date.parse(event.timestamp) - started : undefined;
      // An execution cancelled while queued never ran: it has no duration.
      if (ms === undefined || !Number.isFinite(ms)) return;
      this.durations.observe({ agent, entry_point: entryPoint, status }, ms / 1000);
      return;
    }
    if (event.type === "llm_turn_complete") {
      const usage = asRecord(event.data.usage) ?? event.data;
      for (const direction of ["input", "output"] as const) {
        const value = usage[`${direction}_tokens`];
        if (typeof value !== "number" || !Number.isFinite(value)) continue;
        this.tokens.add({ agent, direction }, value);
      }
      return;
    }
    if (event.type === "timer_fired") {
      const scheduled = Date.parse(String(event.data.scheduled_at));
      const fired = Date.parse(String(event.data.fired_at));
      if (Number.isFinite(scheduled) && Number.isFinite(fired)) {
        this.lateness.observe({ agent, entry_point: entryPoint }, Math.max(0, fired - scheduled) / 1000);
      }
    }
  }

  /** Every metric at this moment: what `/metrics` renders and what OTLP export sends. */
  families(stats: RuntimeStats, webhooks?: WebhookTotals): MetricFamily[] {
    const families: MetricFamily[] = [];
    const gauge = (name: string, help: string, otel: string, unit: string, samples: ScalarFamily["samples"]) =>
      families.push({ name, type: "gauge", help, otel: { name: otel, unit }, samples });
    const counter = (name: string, help: string, otel: string, unit: string, samples: ScalarFamily["samples"]) =>
      families.push({ name, type: "counter", help, otel: { name: otel, unit }, samples });
    const histogram = (name: string, help: string, otel: string, series: HistogramSeries) =>
      families.push({ name, type: "histogram", help, otel: { name: otel, unit: "s" }, bounds: series.bounds, points: series.snapshot() } satisfies HistogramFamily);
    const one = (value: number) => [{ labels: {}, value }];

    gauge("forager_up", "1 while the runtime is running", "forager.up", "1", one(stats.running ? 1 : 0));
    gauge("forager_uptime_seconds", "Seconds since the runtime started", "forager.uptime", "s", one(stats.uptime_seconds));
    gauge("forager_timers_paused", "1 while timers are paused", "forager.timers.paused", "1", one(stats.timers_paused ? 1 : 0));
    gauge("forager_active_executions", "Executions running now", "forager.active_executions", "{execution}", one(stats.active_executions));
    gauge("forager_queued_executions", "Executions waiting in queues", "forager.queued_executions", "{execution}", one(stats.queued_executions));
    gauge("forager_max_concurrent_executions", "Process-wide limit on running executions", "forager.max_concurrent_executions", "{execution}", one(stats.max_concurrent_executions));

    const byStatus: ScalarFamily["samples"] = [];
    const queueDepth: ScalarFamily["samples"] = [];
    const running: ScalarFamily["samples"] = [];
    const slots: ScalarFamily["samples"] = [];
    for (const stream of Object.values(stats.streams)) {
      const base = { agent: stream.agent, entry_point: stream.entry_point };
      for (const [status, count] of Object.entries(stream.status_counts)) {
        if (typeof count === "number") byStatus.push({ labels: { ...base, status }, value: count });
      }
      queueDepth.push({ labels: base, value: stream.status_counts.queued ?? 0 });
      running.push({ labels: base, value: stream.status_counts.running ?? 0 });
      slots.push({ labels: base, value: stream.available_slots });
    }
    gauge("forager_executions", "Executions by agent, entry point and status since start (queued and running are current)", "forager.executions", "{execution}", byStatus);
    gauge("forager_queue_depth", "Executions queued per entry point", "forager.queue.depth", "{execution}", queueDepth);
    gauge("forager_entry_point_active_executions", "Executions running per entry point", "forager.entry_point.active_executions", "{execution}", running);
    gauge("forager_available_slots", "Free execution slots per entry point", "forager.available_slots", "{slot}", slots);

    counter("forager_executions_finished_total", "Executions that ended, by agent, entry point and final status", "forager.executions.finished", "{execution}", this.finished.snapshot());
    histogram("forager_execution_duration_seconds", "Execution duration from start to end, by agent, entry point and final status", "forager.execution.duration", this.durations);

    const fired: ScalarFamily["samples"] = [];
    const skipped: ScalarFamily["samples"] = [];
    for (const [id, timer] of Object.entries(stats.timers)) {
      fired.push({ labels: { timer: id }, value: timer.fired });
      skipped.push({ labels: { timer: id }, value: timer.skipped });
    }
    counter("forager_timer_fires_total", "Timer ticks that triggered an execution", "forager.timer.fires", "{tick}", fired);
    counter("forager_timer_skips_total", "Timer ticks skipped (paused or agent busy)", "forager.timer.skips", "{tick}", skipped);
    histogram("forager_timer_lateness_seconds", "How long after its scheduled time a timer fired", "forager.timer.lateness", this.lateness);

    counter(
      "forager_webhook_requests_total",
      "Webhook deliveries by route and HTTP status code",
      "forager.webhook.requests",
      "{request}",
      (webhooks?.responses ?? []).map((r) => ({ labels: { source_id: r.source_id, status: String(r.status) }, value: r.count })),
    );
    const outcomes: ScalarFamily["samples"] = [];
    for (const [source, counts] of Object.entries(webhooks?.counts ?? {})) {
      for (const [outcome, count] of Object.entries(counts)) outcomes.push({ labels: { source_id: source, outcome }, value: count });
    }
    counter("forager_webhook_outcomes_total", "Webhook deliveries accepted, rejected or duplicate", "forager.webhook.outcomes", "{request}", outcomes);

    counter("forager_llm_tokens_total", "LLM tokens by agent and direction", "forager.llm.tokens", "{token}", this.tokens.snapshot());
    counter("forager_llm_cost_usd_total", "Estimated LLM cost in US dollars by agent (from the agent's pricing)", "forager.llm.cost", "[USD]", this.cost.snapshot());
    counter("forager_events_total", "Events published on the bus", "forager.events", "{event}", one(stats.event_bus.total_events));
    return families;
  }

  render(stats: RuntimeStats, webhooks?: WebhookTotals): string {
    return renderPrometheus(this.families(stats, webhooks));
  }
}

/** The Prometheus text format of these families. */
export function renderPrometheus(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  const sample = (name: string, labels: Labels, value: number) => {
    const entries = Object.entries(labels);
    const text = entries.length === 0 ? "" : `{${entries.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}`;
    lines.push(`${name}${text} ${formatValue(value)}`);
  };
  for (const family of families) {
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`);
    if (family.type !== "histogram") {
      for (const s of family.samples) sample(family.name, s.labels, s.value);
      continue;
    }
    for (const point of family.points) {
      let cumulative = 0;
      family.bounds.forEach((bound, i) => {
        cumulative += point.counts[i]!;
        sample(`${family.name}_bucket`, { ...point.labels, le: String(bound) }, cumulative);
      });
      sample(`${family.name}_bucket`, { ...point.labels, le: "+Inf" }, point.count);
      sample(`${family.name}_sum`, point.labels, point.sum);
      sample(`${family.name}_count`, point.labels, point.count);
    }
  }
  return `${lines.join("\n")}\n`;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function labelKey(labels: Labels): string {
  return JSON.stringify(Object.entries(labels));
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function escapeHelp(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}
