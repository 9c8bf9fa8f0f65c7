/**
 * Secrets never reach a log line. Two layers: known key names are censored
 * by pino's `redact` (structure-aware), and every secret value registered
 * here (API keys, webhook secrets, the control token, secret-looking env
 * values used in an agent file) is scrubbed from the final text of every
 * line, wherever it appears.
 */

export const REDACTED = "[REDACTED]";

const secrets = new Set<string>();
let pattern: RegExp | null = null;

/** Values shorter than this are not treated as secrets: they would censor ordinary words. */
const MIN_SECRET_LENGTH = 6;

export function registerSecret(value: string | undefined | null): void {
  if (!value || value.length < MIN_SECRET_LENGTH || secrets.has(value)) return;
  secrets.add(value);
  // Longest first, so a secret containing another is censored whole.
  const escaped = [...secrets]
    .sort((a, b) => b.length - a.length)
    .flatMap((s) => {
      const forms = new Set([s, JSON.stringify(s).slice(1, -1)]);
      return [...forms].map((f) => f.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
    });
  pattern = new RegExp(escaped.join("|"), "g");
}

/** For tests: forget every registered secret. */
export function clearSecrets(): void {
  secrets.clear();
  pattern = null;
}

export function scrubSecrets(text: string): string {
  if (!pattern) return text;
  return text.replace(pattern, REDACTED);
}

/** Env variable names whose values are secrets when an agent file uses them. */
export function isSecretName(name: string): boolean {
  return /(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH|SIGNING)/i.test(name);
}

/** Header names whose values are never logged or stored. */
export const SECRET_HEADERS = [
  "authorization",
  "proxy-authorization",
  "cookie",
  "set-cookie",
  "x-api-key",
  "api-key",
  "x-hub-signature",
  "x-hub-signature-256",
  "x-slack-signature",
  "stripe-signature",
  "webhook-signature",
  "x-signature",
];

/** Object paths censored by pino before serialisation. */
export const REDACT_PATHS = [
  "api_key",
  "apiKey",
  "secret",
  "secrets",
  "token",
  "password",
  "authorization",
  "*.api_key",
  "*.apiKey",
  "*.secret",
  "*.secrets",
  "*.token",
  "*.password",
  "*.authorization",
  ...SECRET_HEADERS.map((h) => `headers["${h}"]`),
  ...SECRET_HEADERS.map((h) => `*.headers["${h}"]`),
  'headers["Authorization"]',
  '*.headers["Authorization"]',
];
