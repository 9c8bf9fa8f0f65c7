/**
 * A configurable HMAC of the raw body: the signature sits in `header`,
 * written in `encoding` (hex or base64) after an optional `prefix`
 * (e.g. "sha256=").
 */
import {
  anyEqual,
  decodeBase64,
  decodeHex,
  hmac,
  noSecrets,
  type HmacAlgorithm,
  type VerifyOptions,
  type VerifyRequest,
  type VerifyResult,
} from "./common.js";

export interface HmacScheme {
  /** Header name (any case). */
  header: string;
  algorithm: HmacAlgorithm;
  encoding: "hex" | "base64";
  prefix: string;
}

export const DEFAULT_HMAC_HEADER = "x-signature";

export function verifyHmac(request: VerifyRequest, options: VerifyOptions & { scheme: HmacScheme }): VerifyResult {
  const missing = noSecrets(options);
  if (missing) return missing;
  const { scheme } = options;
  const name = scheme.header.toLowerCase();
  const header = request.headers[name]?.trim();
  if (!header) return { ok: false, reason: `missing ${name} header` };
  if (!header.startsWith(scheme.prefix)) return { ok: false, reason: `malformed ${name} header` };
  const text = header.slice(scheme.prefix.length);
  const given = scheme.encoding === "hex" ? decodeHex(text) : decodeBase64(text);
  if (!given) return { ok: false, reason: `malformed ${name} header` };
  const expected = options.secrets.map((secret) => hmac(scheme.algorithm, secret, request.body));
  return anyEqual([given], expected) ? { ok: true } : { ok: false, reason: "signature does not match" };
}
