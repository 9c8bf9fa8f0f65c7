// Function node for disk-report.yaml: turns the output of `du -k -d 1` and
// `find -type f` into a short report. Plain JavaScript, so it runs from dist.

/** Parses `du -k` lines ("<kilobytes>\t<path>") into entries, largest first. */
function parseDu(stdout) {
  return stdout
    .split("\n")
    .map((line) => line.match(/^(\d+)\s+(.+)$/))
    .filter(Boolean)
    .map(([, kb, path]) => ({ kb: Number(kb), path }))
    .sort((a, b) => b.kb - a.kb);
}

export default async function summarize({ memory, input }) {
  const entries = parseDu(memory.usage?.stdout ?? "");
  const folder = typeof input?.path === "string" && input.path !== "" ? input.path : ".";
  // `du -d 1` lists the folder itself too; it is the total.
  const total = entries.find((e) => e.path === folder) ?? entries[0] ?? { kb: 0, path: folder };
  const children = entries.filter((e) => e !== total).slice(0, 5);
  const fileCount = (memory.files?.stdout ?? "").split("\n").filter((line) => line.trim() !== "").length;
  const lines = [
    `${folder}: ${total.kb} KiB in ${fileCount} file${fileCount === 1 ? "" : "s"}`,
    ...children.map((e) => `  ${String(e.kb).padStart(8)} KiB  ${e.path}`),
  ];
  return { report: lines.join("\n"), total_kb: total.kb, file_count: fileCount };
}
