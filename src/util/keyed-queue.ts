/**
 * Per-key serialisation: tasks queued under one key run one after another,
 * in the order they were queued; tasks of different keys run concurrently.
 * The stores use it so that two writes of one file never overlap and an
 * older write never lands last (saves of one execution, writes of one
 * agent's state, appends to one log).
 *
 * A task that fails does not stop the ones queued after it: its caller gets
 * the error, the next task runs as if it had succeeded. A key's entry is
 * dropped once its last task has settled, so the map holds only keys with
 * work in flight.
 */
export class KeyedQueue<K = string> {
  /** The last task queued per key, settled either way (never rejects). */
  private readonly tails = new Map<K, Promise<void>>();

  /** Runs `task` once every task queued before it under `key` has settled. */
  run<T>(key: K, task: () => T | Promise<T>): Promise<T> {
    // Always after a turn of the microtask queue, also for an idle key: a task
    // that queues another under its own key must not have it run alongside.
    const result = (this.tails.get(key) ?? Promise.resolve()).then(task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Resolves (never rejects) once every task queued so far under `key` has settled. */
  idle(key: K): Promise<void> {
    return this.tails.get(key) ?? Promise.resolve();
  }

  /** Resolves once every task queued so far, under any key, has settled. */
  async idleAll(): Promise<void> {
    await Promise.all(this.tails.values());
  }

  /** True while `key` has a task queued or running. */
  busy(key: K): boolean {
    return this.tails.has(key);
  }

  /** How many keys have work in flight. */
  get size(): number {
    return this.tails.size;
  }
}
