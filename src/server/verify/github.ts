/** GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`. */
import { anyEqual, decodeHex, hmac, noSecrets, type VerifyOptions, type VerifyRequest, type VerifyResult } from "./common.js";

export const GITHUB_SIGNATURE_HEADER = "x-hub-signature-256";

export function verifyGithub(request: VerifyRequest, options: VerifyOptions): VerifyResult {
  const missing = noSecrets(options);
  if (missing) return missing;
  const header = request.headers[GITHUB_SIGNATURE_HEADER];
  if (!header) return { ok: false, reason: `missing ${GITHUB_SIGNATURE_HEADER} header` };
  const match = /^sha256=(.+)$/.exec(header.trim());
  const given = match ? decodeHex(match[1]!) : undefined;
  if (!given) return { ok: false, reason: `malformed ${GITHUB_SIGNATURE_HEADER} header` };
  const expected = options.secrets.map((secret) => hmac("sha256", secret, request.body));
  return anyEqual([given], expected) ? { ok: true } : { ok: false, reason: "signature does not match" };
}

/** The header value GitHub would send for this body and secret. */
export function signGithub(body: Buffer | string, secret: string): string {
  return `sha256=${hmac("sha256", secret, body).toString("hex")}`;
}
