/**
 * Slack: `X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:{timestamp}:{body}">`
 * with the timestamp from `X-Slack-Request-Timestamp`, which must be recent.
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

export const SLACK_SIGNATURE_HEADER = "x-slack-signature";
export const SLACK_TIMESTAMP_HEADER = "x-slack-request-timestamp";

export function verifySlack(request: VerifyRequest, options: VerifyOptions): VerifyResult {
  const missing = noSecrets(options);
  if (missing) return missing;
  const timestamp = request.headers[SLACK_TIMESTAMP_HEADER]?.trim();
  const header = request.headers[SLACK_SIGNATURE_HEADER];
  if (!header) return { ok: false, reason: `missing ${SLACK_SIGNATURE_HEADER} header` };
  const fresh = checkTimestamp(timestamp, options);
  if (!fresh.ok) return fresh;
  const match = /^v0=(.+)$/.exec(header.trim());
  const given = match ? decodeHex(match[1]!) : undefined;
  if (!given) return { ok: false, reason: `malformed ${SLACK_SIGNATURE_HEADER} header` };
  const expected = options.secrets.map((secret) => hmac("sha256", secret, `v0:${timestamp}:`, request.body));
  return anyEqual([given], expected) ? { ok: true } : { ok: false, reason: "signature does not match" };
}

export function signSlack(body: Buffer | string, secret: string, timestamp: number | string): string {
  return `v0=${hmac("sha256", secret, `v0:${timestamp}:`, body).toString("hex")}`;
}
