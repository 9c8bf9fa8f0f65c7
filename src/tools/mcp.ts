/**
 * One MCP server used by an agent: started lazily on first use (concurrent
 * first uses share one start), its tools listed once and wrapped as forager
 * tools named `SERVER.TOOL`. The MCP SDK is imported only here, and only
 * when a server starts, so runs without MCP never load it.
 */
import { resolve as resolvePath } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { McpServerDef } from "../config/schema.js";
import type { Logger } from "../logging/index.js";
import { abortReason, rejectOnAbort } from "../util/abort.js";
import { errorMessage } from "../errors.js";
import { DEFAULT_MAX_OUTPUT_BYTES } from "./output-cap.js";
import { makeTool } from "./tool-base.js";
import { mcpExposedName } from "./names.js";
import { mcpCallOutcome } from "./mcp-result.js";
import { ToolError, type Tool } from "./types.js";

const STDERR_LINES_KEPT = 20;
const STDERR_LINES_SHOWN = 5;
const STDERR_CHARS_SHOWN = 600;
// McpError code of a connection the other side closed.
const CONNECTION_CLOSED = -32000;
const CLIENT_INFO = { name: "forager", version: "0.1.0" };
// McpError codes from the protocol (ErrorCode in the SDK).
const REQUEST_TIMEOUT = -32001;

interface Session {
  client: Client;
  transport: Transport;
  tools: Tool[];
  /** Set when the server went away; the next use starts it again. */
  closed: boolean;
}

export interface McpServerOptions {
  baseDir: string;
  logger: Logger;
}

export class McpServerConnection {
  private session: Promise<Session> | undefined;
  private current: Session | undefined;
  private readonly stderrLines: string[] = [];
  private partialLine = "";
  private isClosed = false;
  private closing: Promise<void> | undefined;
  /** Aborts a start in progress when the resolver closes. */
  private readonly lifetime = new AbortController();

  constructor(
    readonly serverName: string,
    private readonly def: McpServerDef,
    private readonly options: McpServerOptions,
  ) {}

  /** The server's tools; starts the server first if needed. */
  async tools(signal?: AbortSignal): Promise<Tool[]> {
    return (await this.ensureSession(signal)).tools;
  }

  /** The last lines the server wrote to stderr (stdio servers only). */
  stderrTail(): string {
    const lines = [...this.stderrLines];
    if (this.partialLine) lines.push(this.partialLine);
    return lines.join("\n").trim();
  }

  private ensureSession(signal?: AbortSignal): Promise<Session> {
    if (this.isClosed) {
      return Promise.reject(new ToolError(this.serverName, `MCP server "${this.serverName}" is closed (the agent is shutting down)`));
    }
    // A server that went away is started again on the next use.
    if (this.current?.closed) {
      this.session = undefined;
      this.current = undefined;
    }
    if (!this.session) {
      const starting = this.start();
      this.session = starting;
      starting.then(
        (session) => {
          if (this.session === starting) this.current = session;
        },
        () => {
          // A failed start is forgotten so a later call may try again.
          if (this.session === starting) this.session = undefined;
        },
      );
    }
    const shared = this.session;
    if (!signal) return shared;
    // The start is shared: one caller giving up must not stop it for the others.
    const abort = rejectOnAbort(signal);
    return Promise.race([shared, abort.promise]).finally(abort.dispose);
  }

  /** The message plus the server's last stderr lines, kept on one line. */
  private withStderr(message: string): string {
    const lines = this.stderrTail().split("\n").filter(Boolean).slice(-STDERR_LINES_SHOWN);
    let tail = lines.join(" | ");
    if (tail.length > STDERR_CHARS_SHOWN) tail = `…${tail.slice(-STDERR_CHARS_SHOWN)}`;
    return tail ? `${message}; server stderr: ${tail}` : message;
  }

  private recordStderr(chunk: Buffer | string): void {
    const text = this.partialLine + chunk.toString();
    const lines = text.split(/\r?\n/);
    this.partialLine = lines.pop() ?? "";
    for (const line of lines) {
      if (!line.trim()) continue;
      this.options.logger.debug({ mcp_server: this.serverName, line }, "mcp server stderr");
      this.stderrLines.push(line);
      if (this.stderrLines.length > STDERR_LINES_KEPT) this.stderrLines.shift();
    }
    if (this.partialLine.length > 2000) this.partialLine = this.partialLine.slice(-2000);
  }

  private async createTransport(): Promise<Transport> {
    const def = this.def;
    if (def.command) {
      const { StdioClientTransport } = await import("@modelcontextprotocol/sdk/client/stdio.js");
      const transport = new StdioClientTransport({
        // `node` means this very Node: no PATH lookup, no npx.
        command: def.command === "node" ? process.execPath : def.command,
        args: def.args,
        env: def.env,
        cwd: resolvePath(this.options.baseDir, def.cwd ?? "."),
        stderr: "pipe",
      });
      transport.stderr?.on("data", (chunk: Buffer) => this.recordStderr(chunk));
      return transport;
    }
    if (def.url) {
      const { StreamableHTTPClientTransport } = await import("@modelcontextprotocol/sdk/client/streamableHttp.js");
      return new StreamableHTTPClientTransport(new URL(def.url), { requestInit: { headers: def.headers } });
    }
    throw new ToolError(this.serverName, `MCP server "${this.serverName}" needs either command (stdio) or url (streamable HTTP)`);
  }

  private async start(): Promise<Session> {
    // timeout_seconds bounds one call. Starting a server (spawning it, npx
    // fetching a package, the handshake and listing tools) on a loaded
    // machine can take longer than a short call timeout, so the start gets
    // at least STARTUP_MIN_SECONDS.
    const timeoutMs = startupSeconds(this.def) * 1000;
    const requestOptions = { timeout: timeoutMs, signal: this.lifetime.signal };
    const { Client: ClientClass } = await import("@modelcontextprotocol/sdk/client/index.js");
    const transport = await this.createTransport();
    const client = new ClientClass(CLIENT_INFO, { capabilities: {} });
    const session: Session = { client, transport, tools: [], closed: false };
    client.onclose = () => {
      session.closed = true;
      if (!this.isClosed) this.options.logger.warn({ mcp_server: this.serverName }, "mcp server connection closed");
    };
    const started = Date.now();
    try {
      await client.connect(transport, requestOptions);
      const listed: Array<Record<string, unknown>> = [];
      let cursor: string | undefined;
      do {
        const page = await client.listTools(cursor ? { cursor } : undefined, requestOptions);
        listed.push(...(page.tools as Array<Record<string, unknown>>));
        cursor = page.nextCursor;
      } while (cursor);
      session.tools = listed.map((tool) => this.wrapTool(tool, session));
    } catch (err) {
      await client.close().catch(() => {});
      await new Promise((resolve) => setImmediate(resolve)); // let the last stderr lines arrive
      if (err instanceof ToolError) throw err;
      const reason = this.isClosed
        ? "closed while starting"
        : startFailureReason(err, this.def);
      throw new ToolError(this.serverName, this.withStderr(`MCP server "${this.serverName}" failed to start: ${reason}`), { cause: err });
    }
    this.options.logger.debug(
      { mcp_server: this.serverName, tools: session.tools.length, ms: Date.now() - started },
      "mcp server started",
    );
    return session;
  }

  private wrapTool(tool: Record<string, unknown>, session: Session): Tool {
    const toolName = String(tool.name);
    const name = `${this.serverName}.${toolName}`;
    const description = typeof tool.description === "string" ? tool.description : typeof tool.title === "string" ? tool.title : "";
    const inputSchema = (tool.inputSchema as Record<string, unknown> | undefined) ?? { type: "object" };
    return makeTool({
      name,
      exposedName: mcpExposedName(this.serverName, toolName),
      description,
      inputSchema,
      run: (args, ctx) => this.callTool(session, toolName, args, ctx.signal),
    });
  }

  private async callTool(session: Session, toolName: string, args: Record<string, unknown>, signal: AbortSignal): Promise<unknown> {
    const name = `${this.serverName}.${toolName}`;
    // The server may have exited since the tools were listed: start it again.
    const live = session.closed ? await this.ensureSession(signal) : session;
    let result: Record<string, unknown>;
    try {
      result = (await live.client.callTool({ name: toolName, arguments: args }, undefined, {
        signal,
        timeout: this.def.timeout_seconds * 1000,
      })) as Record<string, unknown>;
    } catch (err) {
      if (signal.aborted) throw abortReason(signal);
      if (isTimeout(err)) {
        throw new ToolError(name, `MCP tool "${name}" timed out after ${this.def.timeout_seconds}s`, { cause: err });
      }
      if (live.closed || this.isClosed) {
        await new Promise((resolve) => setImmediate(resolve));
        throw new ToolError(name, this.withStderr(`MCP server "${this.serverName}" went away during a call to ${toolName}`), { cause: err });
      }
      throw new ToolError(name, `MCP tool "${name}" failed: ${errorMessage(err)}`, { cause: err });
    }
    const outcome = mcpCallOutcome(result, DEFAULT_MAX_OUTPUT_BYTES);
    if (outcome.isError) {
      throw new ToolError(name, `MCP tool "${name}" returned an error: ${outcome.text || "(no message)"}`, { result: outcome.value });
    }
    return outcome.value;
  }

  /** Closes the connection and stops a stdio server's process; idempotent. */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    this.isClosed = true;
    this.lifetime.abort(new ToolError(this.serverName, `MCP server "${this.serverName}" closed`));
    const pending = this.session;
    this.session = undefined;
    if (!pending) return;
    const session = await pending.catch(() => undefined);
    if (!session) return;
    const transport = session.transport as Transport & { terminateSession?: () => Promise<void> };
    if (this.def.url && typeof transport.terminateSession === "function") {
      // Tell an HTTP server the session is over; it may not support that.
      await transport.terminateSession().catch(() => {});
    }
    await session.client.close().catch((err: unknown) => {
      this.options.logger.warn({ mcp_server: this.serverName, err: errorMessage(err) }, "closing mcp server failed");
    });
  }
}

/** The least time a server gets to start, whatever its per-call timeout. */
const STARTUP_MIN_SECONDS = 30;

function startupSeconds(def: McpServerDef): number {
  return Math.max(def.timeout_seconds ?? 0, STARTUP_MIN_SECONDS);
}

function startFailureReason(err: unknown, def: McpServerDef): string {
  const code = typeof err === "object" && err !== null ? (err as { code?: unknown }).code : undefined;
  if (code === "ENOENT") return `command not found: ${def.command}`;
  if (code === "EACCES") return `permission denied running ${def.command}`;
  if (code === REQUEST_TIMEOUT) return `no answer within ${startupSeconds(def)}s`;
  if (code === CONNECTION_CLOSED && def.command) return "the server exited";
  return errorMessage(err);
}

function isTimeout(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === REQUEST_TIMEOUT;
}
