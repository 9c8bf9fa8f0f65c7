import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { sign as octokitSign, verify as octokitVerify } from "@octokit/webhooks-methods";
import {
  anyEqual,
  createRouteVerifier,
  deliveryIdOf,
  signGithub,
  signSlack,
  verifyGithub,
  verifyHmac,
  verifySlack,
  verifyStandard,
  verifyStripe,
} from "../../src/server/verify/index.js";
import { schemas } from "../../src/config/schema.js";

const body = (text: string) => Buffer.from(text, "utf8");

describe("github", () => {
  const secret = "It's a Secret to Everybody";
  const expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

  test("accepts GitHub's documented example", () => {
    assert.equal(signGithub("Hello, World!", secret), expected);
    assert.deepEqual(verifyGithub({ body: body("Hello, World!"), headers: { "x-hub-signature-256": expected } }, { secrets: [secret] }), { ok: true });
  });

  test("rejects a tampered body, a wrong secret, a missing or malformed header", () => {
    const headers = { "x-hub-signature-256": expected };
    assert.equal(verifyGithub({ body: body("Hello, World?"), headers }, { secrets: [secret] }).ok, false);
    assert.equal(verifyGithub({ body: body("Hello, World!"), headers }, { secrets: ["other"] }).ok, false);
    assert.equal(verifyGithub({ body: body("Hello, World!"), headers: {} }, { secrets: [secret] }).ok, false);
    assert.equal(verifyGithub({ body: body("Hello, World!"), headers: { "x-hub-signature-256": "sha1=abcd" } }, { secrets: [secret] }).ok, false);
    assert.equal(verifyGithub({ body: body("Hello, World!"), headers: { "x-hub-signature-256": expected.slice(0, -2) } }, { secrets: [secret] }).ok, false);
    assert.equal(verifyGithub({ body: body("Hello, World!"), headers: { "x-hub-signature-256": "sha256=zz" } }, { secrets: [secret] }).ok, false);
  });

  test("agrees with @octokit/webhooks-methods in both directions", async () => {
    const payload = JSON.stringify({ action: "opened", issue: { number: 7, title: "Crash on start ✓" } });
    const theirs = await octokitSign("s3cr3t-value", payload);
    assert.equal(verifyGithub({ body: body(payload), headers: { "x-hub-signature-256": theirs } }, { secrets: ["s3cr3t-value"] }).ok, true);
    const ours = signGithub(payload, "s3cr3t-value");
    assert.equal(await octokitVerify("s3cr3t-value", payload, ours), true);
    assert.equal(await octokitVerify("s3cr3t-value", payload + " ", ours), false);
  });

  test("rotation: a signature under either secret passes, under a third fails", () => {
    const payload = body('{"zen":"Keep it logically awesome."}');
    const options = { secrets: ["new-secret-1", "old-secret-0"] };
    for (const secret of ["new-secret-1", "old-secret-0"]) {
      assert.equal(verifyGithub({ body: payload, headers: { "x-hub-signature-256": signGithub(payload, secret) } }, options).ok, true);
    }
    assert.equal(verifyGithub({ body: payload, headers: { "x-hub-signature-256": signGithub(payload, "retired") } }, options).ok, false);
  });
});

describe("slack", () => {
  const secret = "8f742231b10e8888abcd99yyyzzz85a5";
  const timestamp = "1531420618";
  const payload =
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
  const expected = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
  const headers = { "x-slack-signature": expected, "x-slack-request-timestamp": timestamp };
  const at = (seconds: number) => () => seconds * 1000;

  test("accepts Slack's documented example when its timestamp is now", () => {
    assert.equal(signSlack(payload, secret, timestamp), expected);
    assert.deepEqual(verifySlack({ body: body(payload), headers }, { secrets: [secret], now: at(1531420618 + 10) }), { ok: true });
  });

  test("rejects the same request once it is older than the tolerance, or from the future", () => {
    const stale = verifySlack({ body: body(payload), headers }, { secrets: [secret], now: at(1531420618 + 301) });
    assert.equal(stale.ok, false);
    assert.equal(verifySlack({ body: body(payload), headers }, { secrets: [secret], now: at(1531420618 - 301) }).ok, false);
    assert.equal(verifySlack({ body: body(payload), headers }, { secrets: [secret], toleranceSeconds: 30, now: at(1531420618 + 60) }).ok, false);
  });

  test("rejects a changed timestamp or body", () => {
    const now = at(1531420619);
    assert.equal(verifySlack({ body: body(payload), headers: { ...headers, "x-slack-request-timestamp": "1531420619" } }, { secrets: [secret], now }).ok, false);
    assert.equal(verifySlack({ body: body(payload.replace("foobar", "foobaz")), headers }, { secrets: [secret], now }).ok, false);
  });
});

describe("stripe", () => {
  const secret = "whsec_test_stripe_secret";
  const payload = JSON.stringify({ id: "evt_1", object: "event", type: "payment_intent.succeeded" });
  const sig = (t: number, key = secret) => createHmac("sha256", key).update(`${t}.${payload}`).digest("hex");
  const now = 1_700_000_000;
  const clock = () => now * 1000;

  test("accepts a signature computed independently, with one or several v1 values", () => {
    const one = { "stripe-signature": `t=${now},v1=${sig(now)}` };
    assert.equal(verifyStripe({ body: body(payload), headers: one }, { secrets: [secret], now: clock }).ok, true);
    const several = { "stripe-signature": `t=${now},v1=${sig(now, "rolled-away")},v1=${sig(now)},v0=ignored` };
    assert.equal(verifyStripe({ body: body(payload), headers: several }, { secrets: [secret], now: clock }).ok, true);
  });

  test("rejects replays outside the tolerance and signatures that do not match", () => {
    const old = now - 301;
    assert.equal(verifyStripe({ body: body(payload), headers: { "stripe-signature": `t=${old},v1=${sig(old)}` } }, { secrets: [secret], now: clock }).ok, false);
    // The timestamp is signed: moving it forward breaks the signature.
    assert.equal(verifyStripe({ body: body(payload), headers: { "stripe-signature": `t=${now},v1=${sig(old)}` } }, { secrets: [secret], now: clock }).ok, false);
    assert.equal(verifyStripe({ body: body(payload), headers: { "stripe-signature": `t=${now}` } }, { secrets: [secret], now: clock }).ok, false);
    assert.equal(verifyStripe({ body: body(payload), headers: { "stripe-signature": `v1=${sig(now)}` } }, { secrets: [secret], now: clock }).ok, false);
  });
});

describe("standard webhooks", () => {
  const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const headers = {
    "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
    "webhook-timestamp": "1614265330",
    "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
  };
  const payload = body('{"test": 2432232314}');
  const now = () => 1614265330 * 1000;

  test("accepts the specification's example", () => {
    assert.deepEqual(verifyStandard({ body: payload, headers }, { secrets: [secret], now }), { ok: true });
  });

  test("accepts it among several space-separated signatures, rejects a wrong id or stale time", () => {
    const list = { ...headers, "webhook-signature": `v1,Zm9vYmFy v2,abc ${headers["webhook-signature"]}` };
    assert.equal(verifyStandard({ body: payload, headers: list }, { secrets: [secret], now }).ok, true);
    assert.equal(verifyStandard({ body: payload, headers: { ...headers, "webhook-id": "msg_other" } }, { secrets: [secret], now }).ok, false);
    assert.equal(verifyStandard({ body: payload, headers }, { secrets: [secret], now: () => (1614265330 + 301) * 1000 }).ok, false);
    assert.equal(verifyStandard({ body: body('{"test": 2432232315}'), headers }, { secrets: [secret], now }).ok, false);
  });
});

describe("hmac", () => {
  test("reads a configured header, algorithm, encoding and prefix", () => {
    const payload = body("ping");
    const digest = createHmac("sha512", "k3y-value").update(payload).digest("base64");
    const scheme = { header: "X-Custom-Sig", algorithm: "sha512" as const, encoding: "base64" as const, prefix: "sig=" };
    assert.equal(verifyHmac({ body: payload, headers: { "x-custom-sig": `sig=${digest}` } }, { secrets: ["k3y-value"], scheme }).ok, true);
    assert.equal(verifyHmac({ body: payload, headers: { "x-custom-sig": digest } }, { secrets: ["k3y-value"], scheme }).ok, false);
    assert.equal(verifyHmac({ body: body("pong"), headers: { "x-custom-sig": `sig=${digest}` } }, { secrets: ["k3y-value"], scheme }).ok, false);
  });
});

describe("routes", () => {
  const route = (extra: Record<string, unknown>) => schemas().WebhookRouteSchema.parse({ source_id: "src", path: "/hook", ...extra });

  test("a secret alone means GitHub style; no secret verifies only with allow_unsigned", () => {
    const payload = body("{}");
    const github = createRouteVerifier(route({ secret: "abcdef" }));
    assert.equal(github({ body: payload, headers: { "x-hub-signature-256": signGithub(payload, "abcdef") } }).ok, true);
    assert.equal(github({ body: payload, headers: {} }).ok, false);
    assert.equal(createRouteVerifier(route({ allow_unsigned: true }))({ body: payload, headers: {} }).ok, true);
    assert.equal(createRouteVerifier(route({}))({ body: payload, headers: {} }).ok, false);
  });

  test("delivery ids come from each provider's own place", () => {
    assert.equal(deliveryIdOf(route({ secret: "x" }), { "x-github-delivery": "d-1" }, {}), "d-1");
    assert.equal(deliveryIdOf(route({ secret: "x", verify: "standard" }), { "webhook-id": "msg_1" }, {}), "msg_1");
    assert.equal(deliveryIdOf(route({ secret: "x", verify: "stripe" }), {}, { id: "evt_9" }), "evt_9");
    assert.equal(deliveryIdOf(route({ secret: "x", verify: "slack" }), { "x-slack-request-timestamp": "1", "x-slack-signature": "v0=ab" }, {}), "1:v0=ab");
    assert.equal(deliveryIdOf(route({ secret: "x", verify: "hmac", delivery_id_header: "X-Request-Id" }), { "x-request-id": "r-5" }, {}), "r-5");
    assert.equal(deliveryIdOf(route({ allow_unsigned: true }), { "x-github-delivery": "d-1" }, {}), undefined);
  });
});

describe("anyEqual", () => {
  test("matches only equal buffers, whatever the lengths", () => {
    const a = Buffer.from("abcdef");
    assert.equal(anyEqual([a], [Buffer.from("abcdeg"), Buffer.from("abcdef")]), true);
    assert.equal(anyEqual([a], [Buffer.from("abcde"), Buffer.from("abcdefg")]), false);
    assert.equal(anyEqual([], [a]), false);
  });
});
