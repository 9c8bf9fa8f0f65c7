// A loopback OTLP/HTTP receiver for tests: it decodes what forager sends
// with the official OpenTelemetry protobuf definitions (the protobufjs root
// generated from opentelemetry-proto, shipped in @opentelemetry/otlp-transformer
// 0.210, installed as `otlp-proto-root`) for http/protobuf, and as OTLP JSON
// for http/json, then normalises both into one shape the tests assert on.
import { createServer, type IncomingMessage, type Server } from "node:http";
import { createRequire } from "node:module";
import { gunzipSync } from "node:zlib";

const require = createRequire(import.meta.url);

/** The part of a protobufjs static message class this receiver uses. */
interface MessageClass {
  decode(bytes: Uint8Array): unknown;
  toObject(message: unknown, options: { longs: NumberConstructor; bytes: StringConstructor }): unknown;
  create(properties: object): unknown;
  encode(message: unknown): { finish(): Uint8Array };
}
interface Collector {
  [service: string]: { v1: Record<string, MessageClass> };
}
const root = require("otlp-proto-root/build/src/generated/root.js") as { opentelemetry: { proto: { collector: Collector } } };
const { trace, metrics } = root.opentelemetry.proto.collector;
const TraceRequest = trace!.v1.ExportTraceServiceRequest!;
const TraceResponse = trace!.v1.ExportTraceServiceResponse!;
const MetricsRequest = metrics!.v1.ExportMetricsServiceRequest!;
const MetricsResponse = metrics!.v1.ExportMetricsServiceResponse!;

// OTLP requests as protobufjs toObject (longs as numbers, bytes as base64)
// or OTLP JSON (ids as hex, 64-bit numbers as strings) give them.
type Num = number | string;
interface OtlpAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: Num;
  doubleValue?: Num;
  arrayValue?: { values?: OtlpAnyValue[] };
}
interface OtlpKeyValue {
  key: string;
  value?: OtlpAnyValue;
}
interface OtlpTracesRequest {
  resourceSpans?: Array<{
    resource?: { attributes?: OtlpKeyValue[] };
    scopeSpans?: Array<{
      scope?: { name?: string };
      spans?: Array<{
        traceId?: string;
        spanId?: string;
        parentSpanId?: string;
        name: string;
        kind?: Num;
        startTimeUnixNano?: Num;
        endTimeUnixNano?: Num;
        attributes?: OtlpKeyValue[];
        status?: { code?: Num; message?: string };
      }>;
    }>;
  }>;
}
interface OtlpDataPoint {
  attributes?: OtlpKeyValue[];
  asDouble?: Num;
  asInt?: Num;
  count?: Num;
  sum?: Num;
  explicitBounds?: Num[];
  bucketCounts?: Num[];
}
interface OtlpMetricsRequest {
  resourceMetrics?: Array<{
    scopeMetrics?: Array<{
      metrics?: Array<{
        name: string;
        unit?: string;
        sum?: { dataPoints?: OtlpDataPoint[] };
        gauge?: { dataPoints?: OtlpDataPoint[] };
        histogram?: { dataPoints?: OtlpDataPoint[] };
      }>;
    }>;
  }>;
}

export type AttrValue = string | number | boolean | AttrValue[] | undefined;

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  startMs: number;
  endMs: number;
  attributes: Record<string, AttrValue>;
  status: { code: number; message: string };
  resource: Record<string, AttrValue>;
  scope: string;
  /** "protobuf" or "json": how this span arrived. */
  encoding: string;
}

export interface ReceivedMetric {
  name: string;
  unit: string;
  /** "sum", "gauge" or "histogram". */
  kind: string;
  points: { attributes: Record<string, AttrValue>; value?: number; count?: number; sum?: number; bounds?: number[]; counts?: number[] }[];
  encoding: string;
}

export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  readonly metrics: ReceivedMetric[] = [];
  /** Requests by path and content type, for asserting which protocol was used. */
  readonly requests: { path: string; contentType: string }[] = [];
  private server?: Server;
  url = "";

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      void this.handle(req).then(
        (body) => {
          res.writeHead(200, { "content-type": body.type });
          res.end(body.data);
        },
        (err: unknown) => {
          res.writeHead(400, { "content-type": "text/plain" });
          res.end(String(err));
        },
      );
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    const address = this.server.address();
    if (typeof address !== "object" || address === null) throw new Error("no address");
    this.url = `http://127.0.0.1:${address.port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  private async handle(req: IncomingMessage): Promise<{ type: string; data: Buffer | string }> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    let body = Buffer.concat(chunks);
    if (req.headers["content-encoding"] === "gzip") body = gunzipSync(body);
    const contentType = String(req.headers["content-type"] ?? "");
    const path = req.url ?? "";
    this.requests.push({ path, contentType });
    const json = contentType.includes("json");
    if (path === "/v1/traces") {
      if (json) {
        this.addTraces(JSON.parse(body.toString("utf8")) as OtlpTracesRequest, "json");
        return { type: "application/json", data: "{}" };
      }
      this.addTraces(TraceRequest.toObject(TraceRequest.decode(body), { longs: Number, bytes: String }) as OtlpTracesRequest, "protobuf");
      return { type: "application/x-protobuf", data: Buffer.from(TraceResponse.encode(TraceResponse.create({})).finish()) };
    }
    if (path === "/v1/metrics") {
      if (json) {
        this.addMetrics(JSON.parse(body.toString("utf8")) as OtlpMetricsRequest, "json");
        return { type: "application/json", data: "{}" };
      }
      this.addMetrics(MetricsRequest.toObject(MetricsRequest.decode(body), { longs: Number, bytes: String }) as OtlpMetricsRequest, "protobuf");
      return { type: "application/x-protobuf", data: Buffer.from(MetricsResponse.encode(MetricsResponse.create({})).finish()) };
    }
    throw new Error(`unexpected path ${path}`);
  }

  private addTraces(request: OtlpTracesRequest, encoding: string): void {
    for (const rs of request.resourceSpans ?? []) {
      const resource = attributes(rs.resource?.attributes);
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) {
          this.spans.push({
            traceId: id(s.traceId, encoding),
            spanId: id(s.spanId, encoding),
            parentSpanId: id(s.parentSpanId, encoding),
            name: s.name,
            kind: Number(s.kind),
            startMs: Number(s.startTimeUnixNano) / 1e6,
            endMs: Number(s.endTimeUnixNano) / 1e6,
            attributes: attributes(s.attributes),
            status: { code: Number(s.status?.code ?? 0), message: s.status?.message ?? "" },
            resource,
            scope: ss.scope?.name ?? "",
            encoding,
          });
        }
      }
    }
  }

  private addMetrics(request: OtlpMetricsRequest, encoding: string): void {
    for (const rm of request.resourceMetrics ?? []) {
      for (const sm of rm.scopeMetrics ?? []) {
        for (const m of sm.metrics ?? []) {
          const kind = m.sum ? "sum" : m.gauge ? "gauge" : m.histogram ? "histogram" : "other";
          const data = m.sum ?? m.gauge ?? m.histogram ?? { dataPoints: [] };
          this.metrics.push({
            name: m.name,
            unit: m.unit ?? "",
            kind,
            points: (data.dataPoints ?? []).map((p) => ({
              attributes: attributes(p.attributes),
              ...("asDouble" in p ? { value: Number(p.asDouble) } : "asInt" in p ? { value: Number(p.asInt) } : {}),
              ...(kind === "histogram"
                ? { count: Number(p.count), sum: Number(p.sum), bounds: (p.explicitBounds ?? []).map(Number), counts: (p.bucketCounts ?? []).map(Number) }
                : {}),
            })),
            encoding,
          });
        }
      }
    }
  }
}

/** Span and trace ids: protobuf bytes (base64 from toObject) or OTLP JSON hex. */
function id(value: unknown, encoding: string): string {
  if (typeof value !== "string" || value === "") return "";
  return encoding === "json" ? value.toLowerCase() : Buffer.from(value, "base64").toString("hex");
}

function attributes(list: OtlpKeyValue[] | undefined): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const kv of list ?? []) out[kv.key] = anyValue(kv.value);
  return out;
}

function anyValue(v: OtlpAnyValue | undefined): AttrValue {
  if (!v) return undefined;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return Number(v.doubleValue);
  if (v.arrayValue !== undefined) return (v.arrayValue.values ?? []).map(anyValue);
  return undefined;
}
