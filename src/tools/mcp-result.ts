/**
 * What an MCP tool call gives back to forager: the server's structured
 * content when it sends one, else its content blocks as text (non-text
 * blocks summarised), capped like every tool output.
 */
import { capText } from "./output-cap.js";

interface ContentBlock {
  type: string;
  text?: string;
  data?: string;
  mimeType?: string;
  uri?: string;
  name?: string;
  resource?: { uri?: string; mimeType?: string; text?: string; blob?: string };
}

export interface McpCallOutcome {
  /** The value a tool node writes and a model sees. */
  value: unknown;
  /** Text for error messages. */
  text: string;
  isError: boolean;
}

function base64Bytes(data: string | undefined): number {
  if (!data) return 0;
  const padding = data.endsWith("==") ? 2 : data.endsWith("=") ? 1 : 0;
  return Math.max(0, Math.floor((data.length * 3) / 4) - padding);
}

function blockText(block: ContentBlock): string {
  switch (block.type) {
    case "text":
      return block.text ?? "";
    case "image":
    case "audio":
      return `[${block.type}: ${block.mimeType ?? "unknown type"}, ${base64Bytes(block.data)} bytes]`;
    case "resource": {
      const resource = block.resource ?? {};
      if (typeof resource.text === "string") return resource.text;
      return `[resource: ${resource.uri ?? "?"}, ${resource.mimeType ?? "unknown type"}, ${base64Bytes(resource.blob)} bytes]`;
    }
    case "resource_link":
      return `[resource link: ${block.uri ?? block.name ?? "?"}]`;
    default:
      return `[${block.type} content]`;
  }
}

export function mcpCallOutcome(result: Record<string, unknown>, maxBytes: number): McpCallOutcome {
  const content = Array.isArray(result.content) ? (result.content as ContentBlock[]) : [];
  const joined = content.map(blockText).join("\n");
  const isError = result.isError === true;
  const structured = result.structuredContent ?? (isError ? undefined : result.toolResult);
  if (structured !== undefined && structured !== null && !isError) {
    const serialised = JSON.stringify(structured);
    if (Buffer.byteLength(serialised) > maxBytes) {
      const capped = capText(serialised, maxBytes);
      return { value: capped.text, text: capped.text, isError };
    }
    return { value: structured, text: joined || serialised, isError };
  }
  const capped = capText(joined, maxBytes);
  return { value: capped.text, text: capped.text, isError };
}
