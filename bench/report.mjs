#!/usr/bin/env node
/**
 * Prints a results file (default bench/results/latest.json) as Markdown:
 * the machine and the table, ready for BENCHMARKS.md.
 *   node bench/report.mjs [FILE]
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { markdownTable } from "./lib/table.mjs";

const file = process.argv[2] ?? join(fileURLToPath(new URL(".", import.meta.url)), "results", "latest.json");
const report = JSON.parse(readFileSync(file, "utf8"));
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
