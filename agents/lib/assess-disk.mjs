// Function node for health-check.yaml: reads `df -P` output and decides
// whether the disk is healthy. POSIX `df -P` prints one header line, then
// "filesystem blocks used available capacity% mountpoint" per file system.

export default async function assess({ memory, input }) {
  const limit = typeof input?.max_used_percent === "number" ? input.max_used_percent : 90;
  const rows = (memory.disk?.stdout ?? "").trim().split("\n").slice(1);
  const fields = rows[rows.length - 1]?.trim().split(/\s+/) ?? [];
  const used = Number.parseInt(fields[4] ?? "", 10);
  if (!Number.isFinite(used)) {
    throw new Error(`could not read the capacity column of df output: ${JSON.stringify(memory.disk?.stdout ?? "")}`);
  }
  const healthy = used < limit;
  return {
    status: healthy ? "healthy" : "unhealthy",
    used_percent: used,
    summary: `${fields[5] ?? "disk"} is ${used}% full (limit ${limit}%): ${healthy ? "healthy" : "unhealthy"}`,
  };
}
