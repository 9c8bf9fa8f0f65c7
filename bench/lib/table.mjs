/** The results table: plain text for the terminal, Markdown for BENCHMARKS.md. */

export function formatNumber(value) {
  if (value === null || value === undefined || !Number.isFinite(value)) return "-";
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString("en-US");
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toPrecision(2);
}

function cell(summary, unit) {
  if (!summary) return "-";
  const spread = summary.n > 1 ? ` ±${summary.spread_pct}%` : "";
  return `${formatNumber(summary.median)} ${unit}${spread}`;
}

function ratioCell(metric) {
  if (metric.ratio === null || metric.ratio === undefined) return "-";
  return metric.better === "higher" ? `${formatNumber(metric.ratio * 100)}%` : `${formatNumber(metric.ratio)}x`;
}

function targetCells(metric) {
  if (!metric.target) return ["", ""];
  return [metric.target.text, metric.target.met ? "met" : "MISSED"];
}

/** Rows: ratio first (the issue asks for ratios up front), then forager and baseline. */
export function tableRows(report) {
  const rows = [];
  for (const scenario of report.scenarios) {
    if (scenario.error) {
      rows.push([scenario.scenario, "FAILED: " + scenario.error.split("\n")[0], "", "", "", "", ""]);
      continue;
    }
    for (const metric of scenario.metrics) {
      rows.push([
        scenario.scenario,
        metric.name,
        ratioCell(metric),
        cell(metric.forager, metric.unit),
        metric.baseline ? `${cell(metric.baseline, metric.unit)} (${metric.baseline_name})` : "-",
        ...targetCells(metric),
      ]);
    }
  }
  return rows;
}

const HEADER = ["scenario", "metric", "ratio", "forager (median ±spread)", "baseline", "target", ""];

export function formatTable(report) {
  const rows = [HEADER, ...tableRows(report)];
  const widths = HEADER.map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const lines = rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd());
  lines.splice(1, 0, widths.map((w) => "-".repeat(w)).join("  "));
  const notes = report.scenarios.flatMap((s) => (s.notes ?? []).map((n) => `note (${s.scenario}): ${n}`));
  return [...lines, ...(notes.length > 0 ? ["", ...notes] : [])].join("\n");
}

export function markdownTable(report) {
  const escape = (s) => s.replace(/\|/g, "\\|");
  const rows = tableRows(report).map((r) => `| ${r.map(escape).join(" | ")} |`);
  return [`| ${HEADER.join(" | ")} |`, `|${HEADER.map(() => "---").join("|")}|`, ...rows].join("\n");
}

/**
 * Several runs side by side (one column per run, e.g. per Node version):
 * each cell is the ratio, forager's median and, where the metric has a
 * target, that run's verdict. Rows follow the first run's order; a metric a
 * run lacks shows "-".
 */
export function markdownColumns(reports, titles) {
  const key = (scenario, metric) => `${scenario}\u0000${metric}`;
  const cells = reports.map((report) => {
    const map = new Map();
    for (const scenario of report.scenarios) {
      if (scenario.error) {
        map.set(key(scenario.scenario, "*"), "FAILED: " + scenario.error.split("\n")[0]);
        continue;
      }
      for (const m of scenario.metrics) {
        const verdict = m.target ? ` — ${m.target.text}: ${m.target.met ? "met" : "MISSED"}` : "";
        map.set(key(scenario.scenario, m.name), `${ratioCell(m)} (${cell(m.forager, m.unit)})${verdict}`);
      }
    }
    return map;
  });
  const rows = [];
  const seen = new Set();
  for (const report of reports) {
    for (const scenario of report.scenarios) {
      for (const m of scenario.metrics ?? []) {
        const k = key(scenario.scenario, m.name);
        if (seen.has(k)) continue;
        seen.add(k);
        rows.push([scenario.scenario, m.name, ...cells.map((c) => c.get(k) ?? c.get(key(scenario.scenario, "*")) ?? "-")]);
      }
    }
  }
  const header = ["scenario", "metric", ...titles];
  const escape = (c) => c.replace(/\|/g, "\\|");
  return [header, header.map(() => "---"), ...rows].map((r) => `| ${r.map(escape).join(" | ")} |`).join("\n");
}
