/**
 * Picks the verifier for a webhook route. A route with a secret and no
 * `verify` is GitHub style (SPEC 5); a route with no secret verifies nothing
 * and is only served when `allow_unsigned: true` (the config loader refuses
 * anything else; the server checks again).
 */
import type { WebhookRouteDef } from "../../config/schema.js";
import { type HeaderMap, type VerifyOptions, type VerifyRequest, type VerifyResult } from "./common.js";
import { verifyGithub } from "./github.js";
import { DEFAULT_HMAC_HEADER, verifyHmac } from "./hmac.js";
import { verifySlack } from "./slack.js";
import { verifyStandard } from "./standard.js";
import { verifyStripe } from "./stripe.js";

export * from "./common.js";
export { verifyGithub, signGithub, GITHUB_SIGNATURE_HEADER } from "./github.js";
export { verifySlack, signSlack, SLACK_SIGNATURE_HEADER, SLACK_TIMESTAMP_HEADER } from "./slack.js";
export { verifyStripe, parseStripeHeader, STRIPE_SIGNATURE_HEADER } from "./stripe.js";
export { verifyStandard, standardSecretKey, STANDARD_ID_HEADER, STANDARD_SIGNATURE_HEADER, STANDARD_TIMESTAMP_HEADER } from "./standard.js";
export { verifyHmac, DEFAULT_HMAC_HEADER, type HmacScheme } from "./hmac.js";

export type VerifyScheme = NonNullable<WebhookRouteDef["verify"]>;

export type RouteVerifier = (request: VerifyRequest) => VerifyResult;

/** The secrets of a route, newest first: `secrets`, else `secret`. */
export function routeSecrets(route: Pick<WebhookRouteDef, "secret" | "secrets">): string[] {
  if (route.secrets && route.secrets.length > 0) return [...route.secrets];
  return route.secret ? [route.secret] : [];
}

export function routeScheme(route: WebhookRouteDef): VerifyScheme | undefined {
  if (routeSecrets(route).length === 0) return undefined;
  return route.verify ?? "github";
}

/** Builds the route's verifier; `now` is injectable for tests. */
export function createRouteVerifier(route: WebhookRouteDef, now: () => number = Date.now): RouteVerifier {
  const secrets = routeSecrets(route);
  const scheme = routeScheme(route);
  if (!scheme) {
    return route.allow_unsigned
      ? () => ({ ok: true })
      : () => ({ ok: false, reason: "route has no secret and allow_unsigned is not set" });
  }
  const options: VerifyOptions = { secrets, toleranceSeconds: route.tolerance_seconds, now };
  switch (scheme) {
    case "github":
      return (request) => verifyGithub(request, options);
    case "slack":
      return (request) => verifySlack(request, options);
    case "stripe":
      return (request) => verifyStripe(request, options);
    case "standard":
      return (request) => verifyStandard(request, options);
    case "hmac": {
      const hmacScheme = {
        header: route.header ?? DEFAULT_HMAC_HEADER,
        algorithm: route.algorithm,
        encoding: route.encoding,
        prefix: route.prefix,
      };
      return (request) => verifyHmac(request, { ...options, scheme: hmacScheme });
    }
  }
}

/** Lower-case names of the headers that carry this route's signature. */
export function signatureHeaders(route: WebhookRouteDef): string[] {
  if (routeScheme(route) === "hmac") return [(route.header ?? DEFAULT_HMAC_HEADER).toLowerCase()];
  return [];
}

/**
 * The provider's delivery id, used to drop retries of the same delivery:
 * the configured `delivery_id_header`, else GitHub's `X-GitHub-Delivery`,
 * Standard Webhooks' `webhook-id`, Stripe's event `id` (from the JSON body),
 * or Slack's timestamp with its signature.
 */
export function deliveryIdOf(route: WebhookRouteDef, headers: HeaderMap, payload: unknown): string | undefined {
  if (route.delivery_id_header) return nonEmpty(headers[route.delivery_id_header.toLowerCase()]);
  switch (routeScheme(route)) {
    case "github":
      return nonEmpty(headers["x-github-delivery"]);
    case "standard":
      return nonEmpty(headers["webhook-id"]);
    case "stripe": {
      const id = typeof payload === "object" && payload !== null ? (payload as Record<string, unknown>).id : undefined;
      return typeof id === "string" ? nonEmpty(id) : undefined;
    }
    case "slack": {
      const ts = nonEmpty(headers["x-slack-request-timestamp"]);
      const sig = nonEmpty(headers["x-slack-signature"]);
      return ts && sig ? `${ts}:${sig}` : undefined;
    }
    default:
      return undefined;
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}
