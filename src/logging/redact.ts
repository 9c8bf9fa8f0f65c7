/**
 * Secrets never reach a log line. Two layers: known key names are censored
 * by pino's `redact` (structure-aware), and every secret value registered
 * here (API keys, webhook secrets, the control token, secret-looking env
 * values used in an agent file) is scrubbed from the final text of every
 * line, wherever it appears. An agent's secrets are held only while the
 * agent (or the provider using its key) is reachable, so a long-lived
 * process that loads or reloads many agents does not keep them all.
 */

export const REDACTED = "[REDACTED]";

/** Held for the life of the process: the control token, values a caller registers itself. */
const permanent = new Set<string>();
/**
 * Held while an owner lives (a loaded agent, an LLM provider): how many live
 * owners hold each value. A value whose last owner is collected is dropped,
 * so a process that loads agents again and again does not gather their
 * secrets forever.
 */
const scoped = new Map<string, number>();
let pattern: RegExp | null = null;

/** Values shorter than this are not treated as secrets: they would censor ordinary words. */
const MIN_SECRET_LENGTH = 6;

function isSecretValue(value: string | undefined | null): value is string {
  return !!value && value.length >= MIN_SECRET_LENGTH;
}

function patternFor(values: Iterable<string>): RegExp | null {
  const all = [...new Set(values)].filter(isSecretValue);
  if (all.length === 0) return null;
  // Longest first, so a secret containing another is censored whole.
  const escaped = all
    .sort((a, b) => b.length - a.length)
    .flatMap((s) => {
      const forms = new Set([s, JSON.stringify(s).slice(1, -1)]);
      return [...forms].map((f) => f.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
    });
  return new RegExp(escaped.join("|"), "g");
}

function rebuildPattern(): void {
  pattern = patternFor([...permanent, ...scoped.keys()]);
}

/** `text` with the given values censored, whether or not they are registered. */
export function scrubValues(text: string, values: Iterable<string | undefined | null>): string {
  const own = patternFor([...values].filter(isSecretValue));
  return own ? text.replace(own, REDACTED) : text;
}

/** Scrubs `value` from every log line for the rest of the process. */
export function registerSecret(value: string | undefined | null): void {
  if (!isSecretValue(value) || permanent.has(value)) return;
  permanent.add(value);
  if (!scoped.has(value)) rebuildPattern();
}

/** Bumped by clearSecrets, so an owner collected after a clear cannot release a value held anew since. */
let generation = 0;

interface Hold {
  values: readonly string[];
  generation: number;
}

function release({ values, generation: heldIn }: Hold): void {
  if (heldIn !== generation) return;
  let changed = false;
  for (const value of values) {
    const count = scoped.get(value);
    if (count === undefined) continue;
    if (count > 1) {
      scoped.set(value, count - 1);
    } else {
      scoped.delete(value);
      if (!permanent.has(value)) changed = true;
    }
  }
  if (changed) rebuildPattern();
}

const owners = new FinalizationRegistry<Hold>(release);

/**
 * Scrubs `values` from every log line for as long as `owner` is reachable:
 * once the owner is garbage-collected, a value no other owner holds is
 * forgotten. Keep the owner (an `Agent`, a provider) for as long as text
 * holding the values may be logged or stored.
 */
export function holdSecretsWhile(owner: object, values: Iterable<string | undefined | null>): void {
  const held = [...new Set([...values].filter(isSecretValue))];
  if (held.length === 0) return;
  let changed = false;
  for (const value of held) {
    const count = scoped.get(value) ?? 0;
    scoped.set(value, count + 1);
    if (count === 0 && !permanent.has(value)) changed = true;
  }
  owners.register(owner, { values: held, generation });
  if (changed) rebuildPattern();
}

/** How many distinct values are scrubbed now (for tests and diagnostics). */
export function secretCount(): number {
  return new Set([...permanent, ...scoped.keys()]).size;
}

/** For tests: forget every registered secret. */
export function clearSecrets(): void {
  permanent.clear();
  scoped.clear();
  generation++;
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
