/**
 * A SessionStore that keeps nothing: for measuring what the runtime itself
 * holds in memory, without the session store's own bookkeeping.
 */
export class DiscardSessionStore {
  constructor() {
    this.root = "(discarded)";
  }
  async init() {
    return [];
  }
  async save() {}
  async appendEvents() {}
  async get() {
    return undefined;
  }
  async readEvents() {
    return [];
  }
  async list() {
    return [];
  }
  async prune() {
    return { removed: [], kept: 0, dry_run: false };
  }
  async flush() {}
}
