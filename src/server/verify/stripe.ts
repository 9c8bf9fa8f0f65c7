/**
 * Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...]`, each v1 an
 * HMAC-SHA256 of "{t}.{body}". Several v1 values appear while Stripe rolls
 * an endpoint secret; any one matching any configured secret passes.
 */
import {
  anyEqual,
  checkTimestamp,
  decodeHex,
  hmac,
  noSecrets,
  type VerifyOptions,
  type VerifyRequest,
  type VerifyResult,
} from "./common.js";

export const STRIPE_SIGNATURE_HEADER = "stripe-signature";

export function parseStripeHeader(header: string): { timestamp?: string; signatures: string[] } {
  let timestamp: string | undefined;
  const signatures: string[] = [];
  for (const part of header.split(",")) {
    const eq = part.indexOf("=");
    if (eq <= 0) continue;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === "t") timestamp = value;
    else if (key === "v1") signatures.push(value);
  }
  return { timestamp, signatures };
}

export function verifyStripe(request: VerifyRequest, options: VerifyOptions): VerifyResult {
  const missing = noSecrets(options);
  if (missing) return missing;
  const header = request.headers[STRIPE_SIGNATURE_HEADER];
  if (!header) return { ok: false, reason: `missing ${STRIPE_SIGNATURE_HEADER} header` };
  const { timestamp, signatures } = parseStripeHeader(header);
  const fresh = checkTimestamp(timestamp, options);
  if (!fresh.ok) return fresh;
  const given = signatures.map(decodeHex).filter((b): b is Buffer => b !== undefined);
  if (given.length === 0) return { ok: false, reason: "no v1 signature in the Stripe-Signature header" };
  const expected = options.secrets.map((secret) => hmac("sha256", secret, `${timestamp}.`, request.body));
  return anyEqual(given, expected) ? { ok: true } : { ok: false, reason: "signature does not match" };
}
