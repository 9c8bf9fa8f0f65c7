/**
 * The link a Redis store talks through. A store made for one command of
 * the CLI owns its link: close() closes it, and a fresh link (same
 * settings, no connection until used) serves any later call, as the file
 * stores work again after close(). A store given a backend's shared link
 * leaves it open: the backend closes it once, at the end.
 */
import { RedisLink } from "./connection.js";

export class StoreLink {
  constructor(
    private current: RedisLink,
    private readonly owned: boolean = false,
  ) {}

  get link(): RedisLink {
    return this.current;
  }

  async close(): Promise<void> {
    if (!this.owned) return;
    const old = this.current;
    this.current = new RedisLink(old.settings);
    await old.close();
  }
}
