#!/usr/bin/env node
/**
 * Prints a results file (default bench/results/latest.json) as Markdown:
 * the machine and the table, ready for BENCHMARKS.md. Several files (one
 * run per Node version, say) print side by side, one column per run.
 *   node bench/report.mjs [FILE ...]
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { markdownColumns, markdownTable } from "./lib/table.mjs";

const files = process.argv.length > 2 ? process.argv.slice(2) : [join(fileURLToPath(new URL(".", import.meta.url)), "results", "latest.json")];
const reports = files.map((file) => JSON.parse(readFileSync(file, "utf8")));
if (reports.length > 1) {
  const describe = (r) =>
    `- Node ${r.machine.node}: ${r.mode} run, ${r.finished_at.slice(0, 10)}, ${r.duration_s} s${r.git_commit ? `, commit ${r.git_commit.slice(0, 7)}` : ""}; load average at start ${r.machine.load_average_at_start.join(" ")}.`;
  const m = reports[0].machine;
  const lines = [
    `Machine: ${m.cores} cores (${m.cpu_model}), ${m.memory_gb} GB RAM, ${m.platform}.`,
    "",
    ...reports.map(describe),
    "",
    markdownColumns(reports, reports.map((r) => `Node ${r.machine.node.replace(/^v/, "").split(".")[0]}: ratio (forager)`)),
  ];
  process.stdout.write(lines.join("\n") + "\n");
  process.exit(0);
}
const report = reports[0];
const m = report.machine;
const lines = [
  `${report.mode} run, ${report.finished_at.slice(0, 10)}, ${report.duration_s} s in all${report.git_commit ? `, commit ${report.git_commit.slice(0, 7)}` : ""}.`,
  `Machine: ${m.cores} cores (${m.cpu_model}), ${m.memory_gb} GB RAM, Node ${m.node}, ${m.platform}; load average at start ${m.load_average_at_start.join(" ")}.`,
  "",
  markdownTable(report),
];
const notes = report.scenarios.flatMap((s) => (s.notes ?? []).map((n) => `- ${s.scenario}: ${n}`));
if (notes.length > 0) lines.push("", ...notes);
if (report.warning) lines.push("", `Warning: ${report.warning}`);
process.stdout.write(lines.join("\n") + "\n");
