/**
 * The timer baseline: N plain setTimeout chains with a fixed interval,
 * scheduled from the planned time (no drift), all due at the same instants
 * like forager's timers. Prints {"ready": true} at start and, after the
 * duration, {"lateness_ms": [...]} (fire time minus scheduled time).
 *   node timer-baseline.mjs COUNT INTERVAL_MS DURATION_MS
 */
const [count, intervalMs, durationMs] = process.argv.slice(2).map(Number);
const lateness = [];
const t0 = Date.now() + intervalMs;
const end = Date.now() + durationMs;
let live = count;

function arm(scheduled) {
  if (scheduled > end) {
    if (--live === 0) process.stdout.write(JSON.stringify({ lateness_ms: lateness }) + "\n");
    return;
  }
  setTimeout(() => {
    lateness.push(Date.now() - scheduled);
    arm(scheduled + intervalMs);
  }, Math.max(0, scheduled - Date.now()));
}

process.stdout.write(JSON.stringify({ ready: true }) + "\n");
for (let i = 0; i < count; i++) arm(t0);
