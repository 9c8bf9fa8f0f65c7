/**
 * The ingest log in Redis (DISTRIBUTED.md 4.3): one stream per source,
 * `<prefix>:ingest:<source>`, each entry `data` = the event's JSON, capped
 * at about 100000 entries (`MAXLEN ~`, which Redis trims in whole nodes,
 * cheaply). An append resolves once Redis has acknowledged it.
 */
import type { ForagerEvent } from "../../events/types.js";
import type { IngestLog } from "../ingest-log.js";
import type { RedisLink } from "./connection.js";
import { StoreLink } from "./store-link.js";
import { withRedis } from "./errors.js";

/** Entries kept per source at most (about: Redis trims whole nodes). */
export const INGEST_MAX_ENTRIES = 100_000;

export class RedisIngestLog implements IngestLog {
  private readonly held: StoreLink;

  /** `ownsLink`: close() closes the link (and a fresh one serves later calls). */
  constructor(link: RedisLink, options: { ownsLink?: boolean } = {}) {
    this.held = new StoreLink(link, options.ownsLink);
  }

  private get link(): RedisLink {
    return this.held.link;
  }

  streamKey(source: string): string {
    return this.link.key("ingest", source);
  }

  append(event: ForagerEvent): Promise<void> {
    return withRedis(this.link, "recording an event", async (client) => {
      await client.xadd(this.streamKey(event.stream_id ?? "unknown"), "MAXLEN", "~", INGEST_MAX_ENTRIES, "*", "data", JSON.stringify(event));
    });
  }

  /** Trims each source's stream to entries added in the last `maxAgeSeconds` (stream ids are Redis ms); names the streams trimmed. */
  prune(maxAgeSeconds: number, nowMs: number): Promise<string[]> {
    return withRedis(this.link, "pruning the ingest log", async (client) => {
      const minId = `${Math.max(0, Math.floor(nowMs - maxAgeSeconds * 1000))}-0`;
      const trimmed: string[] = [];
      let cursor = "0";
      do {
        const [next, keys] = await client.scan(cursor, "MATCH", `${this.link.key("ingest")}:*`, "COUNT", 200);
        cursor = next;
        for (const key of keys) {
          const removed = await client.xtrim(key, "MINID", minId);
          if (removed > 0) trimmed.push(`${key} (${removed} entries)`);
        }
      } while (cursor !== "0");
      return trimmed;
    });
  }

  /** Nothing is buffered: closes the link if this log owns it. */
  close(): Promise<void> {
    return this.held.close();
  }
}
