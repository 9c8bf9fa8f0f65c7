/**
 * Output caps (SPEC 3.5): a tool keeps at most `max_output_bytes` of an
 * output in memory and only counts the rest, so a huge output never sits
 * in memory whole. Cut text ends with a marker saying how much was dropped.
 */

export const DEFAULT_MAX_OUTPUT_BYTES = 65_536;

function truncationMarker(droppedBytes: number): string {
  return `…[truncated ${droppedBytes} bytes]`;
}

/** Collects bytes up to a cap and counts what goes past it. */
export class CappedOutput {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  private total = 0;

  constructor(private readonly maxBytes: number) {}

  push(chunk: Uint8Array | string): void {
    const buffer = typeof chunk === "string" ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.total += buffer.length;
    const room = this.maxBytes - this.kept;
    if (room <= 0) return;
    const part = buffer.length <= room ? Buffer.from(buffer) : Buffer.from(buffer.subarray(0, room));
    this.chunks.push(part);
    this.kept += part.length;
  }

  get totalBytes(): number {
    return this.total;
  }

  get truncated(): boolean {
    return this.total > this.maxBytes;
  }

  /** The kept bytes as text; when cut, ends on a whole character followed by the marker. */
  text(): string {
    const bytes = Buffer.concat(this.chunks, this.kept);
    if (!this.truncated) return bytes.toString("utf8");
    const end = utf8Boundary(bytes, bytes.length);
    return bytes.subarray(0, end).toString("utf8") + truncationMarker(this.total - end);
  }
}

/** The largest index <= end that does not split a UTF-8 sequence. */
function utf8Boundary(bytes: Buffer, end: number): number {
  let index = end;
  // Step back over continuation bytes (10xxxxxx) to the lead byte.
  while (index > 0 && index > end - 4 && (bytes[index - 1]! & 0xc0) === 0x80) index--;
  if (index === 0) return end;
  const lead = bytes[index - 1]!;
  const width = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return index - 1 + width <= end ? end : index - 1;
}

/** Caps a string that already sits in memory (MCP text, serialised JSON). */
export function capText(text: string, maxBytes: number): { text: string; truncated: boolean } {
  if (Buffer.byteLength(text) <= maxBytes) return { text, truncated: false };
  const capped = new CappedOutput(maxBytes);
  capped.push(text);
  return { text: capped.text(), truncated: true };
}
