/**
 * Standard Webhooks (standardwebhooks.com): `webhook-id`, `webhook-timestamp`
 * and `webhook-signature: v1,<base64> [v1,<base64> ...]`, each an
 * HMAC-SHA256 of "{id}.{timestamp}.{body}" keyed with the base64 part of a
 * `whsec_...` secret.
 */
import {
  anyEqual,
  checkTimestamp,
  decodeBase64,
  hmac,
  noSecrets,
  type VerifyOptions,
  type VerifyRequest,
  type VerifyResult,
} from "./common.js";

export const STANDARD_ID_HEADER = "webhook-id";
export const STANDARD_TIMESTAMP_HEADER = "webhook-timestamp";
export const STANDARD_SIGNATURE_HEADER = "webhook-signature";

/** The signing key of a Standard Webhooks secret: `whsec_<base64>` decoded, else the raw text. */
export function standardSecretKey(secret: string): Buffer {
  const encoded = secret.startsWith("whsec_") ? secret.slice("whsec_".length) : secret;
  return decodeBase64(encoded) ?? Buffer.from(secret, "utf8");
}

export function verifyStandard(request: VerifyRequest, options: VerifyOptions): VerifyResult {
  const missing = noSecrets(options);
  if (missing) return missing;
  const id = request.headers[STANDARD_ID_HEADER]?.trim();
  const timestamp = request.headers[STANDARD_TIMESTAMP_HEADER]?.trim();
  const header = request.headers[STANDARD_SIGNATURE_HEADER];
  if (!id) return { ok: false, reason: `missing ${STANDARD_ID_HEADER} header` };
  if (!header) return { ok: false, reason: `missing ${STANDARD_SIGNATURE_HEADER} header` };
  const fresh = checkTimestamp(timestamp, options);
  if (!fresh.ok) return fresh;
  const given: Buffer[] = [];
  for (const entry of header.trim().split(/\s+/)) {
    const comma = entry.indexOf(",");
    if (comma <= 0 || entry.slice(0, comma) !== "v1") continue;
    const decoded = decodeBase64(entry.slice(comma + 1));
    if (decoded) given.push(decoded);
  }
  if (given.length === 0) return { ok: false, reason: "no v1 signature in the webhook-signature header" };
  const expected = options.secrets.map((secret) => hmac("sha256", standardSecretKey(secret), `${id}.${timestamp}.`, request.body));
  return anyEqual(given, expected) ? { ok: true } : { ok: false, reason: "signature does not match" };
}
