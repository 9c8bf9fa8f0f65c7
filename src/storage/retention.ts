/**
 * Session retention (`runtime.session_retention`): the runtime applies it at
 * start and periodically, so old sessions do not fill the disk. Only finished
 * sessions are removed.
 */
import type { PruneReport, SessionStore } from "./types.js";

export interface RetentionPolicy {
  /** Remove sessions that finished more than this many seconds ago. */
  max_age?: number;
  /** Keep at most this many sessions per agent, newest first. */
  max_sessions?: number;
}

/** Prunes `store` by `policy`; a policy with neither limit removes nothing. */
export async function applyRetention(
  store: SessionStore,
  policy: RetentionPolicy | undefined,
  options: { agent?: string } = {},
): Promise<PruneReport> {
  if (!policy || (policy.max_age === undefined && policy.max_sessions === undefined)) {
    return { removed: [], kept: 0, dry_run: false };
  }
  return store.prune({ agent: options.agent, olderThanSeconds: policy.max_age, keep: policy.max_sessions });
}
