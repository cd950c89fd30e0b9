import { createMiddleware } from "hono/factory";
import { extractSignature } from "../auth/x-signature";
import type { AppEnv, ServiceEnv } from "../env";
import { HttpProblem, PROBLEM_TYPES } from "../lib/problem";

/**
 * Service authentication for the authorization server's routes (/api/2.0/oauth2/*):
 * `Authorization: Bearer <token>` checked against the Workers secret `SERVICE_TOKENS`, a
 * comma-separated list so that one token can be rotated without downtime (deploy both, switch the
 * caller, remove the old one).
 *
 * The two credential worlds never mix: service routes refuse any request that also carries an
 * x-signature (cookie or header), even with a valid bearer token, because such a request is either
 * a misconfigured caller or a browser being used as a confused deputy; user routes ignore the
 * `Authorization` header entirely (see middleware/auth.ts), so a service token grants nothing there.
 */

export const SERVICE_REALM = "docspace-oauth-gateway";
/** Configured tokens shorter than this are ignored: a guessable service token is a misconfiguration. */
export const MIN_SERVICE_TOKEN_LENGTH = 16;
/** RFC 6750 §2.1 `b64token`, bounded so a huge header costs nothing to reject. */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]{1,512}=*) *$/i;

/** The configured service tokens: comma-separated, trimmed, blanks and too-short entries dropped. */
export function parseServiceTokens(configured: string | undefined): string[] {
  return (configured ?? "")
    .split(",")
    .map((token) => token.trim())
    .filter((token) => token.length >= MIN_SERVICE_TOKEN_LENGTH);
}

/** The bearer token of an `Authorization` header; `undefined` when absent or not a well-formed Bearer credential. */
export function readBearerToken(authorization: string | undefined): string | undefined {
  if (authorization === undefined) return undefined;
  return BEARER.exec(authorization)?.[1];
}

function sha256(value: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest("SHA-256", new TextEncoder().encode(value));
}

/** A configured token's digest, and its identity: a prefix of the digest in hex, never the token. */
type ConfiguredToken = { digest: ArrayBuffer; identity: string };

async function configuredToken(token: string): Promise<ConfiguredToken> {
  const digest = await sha256(token);
  const hex = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
  return { digest, identity: `svc-${hex.slice(0, 16)}` };
}

type ConfiguredCache = { source: string; tokens: Promise<ConfiguredToken[]> };
let configuredCache: ConfiguredCache | undefined;

function configuredTokens(configured: string | undefined): Promise<ConfiguredToken[]> {
  const source = configured ?? "";
  if (configuredCache?.source !== source) {
    configuredCache = { source, tokens: Promise.all(parseServiceTokens(source).map(configuredToken)) };
  }
  return configuredCache.tokens;
}

/**
 * The identity of the configured token that `presented` equals, or `undefined`.
 *
 * Both sides are hashed first, so every comparison is between equal-length digests and neither the
 * token's length nor its content leaks through timing; every configured token is compared (no early
 * exit), so the answer's timing does not say which entry matched. The identity is a fingerprint of
 * the token (a prefix of its SHA-256), safe to use as a rate-limit key; it is never the token.
 */
export async function matchServiceToken(
  presented: string,
  configured: string | undefined,
): Promise<string | undefined> {
  const tokens = await configuredTokens(configured);
  const candidate = await sha256(presented);
  let matched: string | undefined;
  for (const token of tokens) {
    if (crypto.subtle.timingSafeEqual(candidate, token.digest) && matched === undefined) matched = token.identity;
  }
  return matched;
}

/**
 * Records the verified service identity without answering, so that the rate limiter can key on it;
 * `requireServiceToken` on each service route decides. Mounted on /api/2.0/oauth2/* only.
 */
export const identifyService = createMiddleware<AppEnv>(async (c, next) => {
  const bearer = readBearerToken(c.req.header("authorization"));
  if (bearer !== undefined && extractSignature(c.req.raw.headers) === undefined) {
    c.set("service", await matchServiceToken(bearer, c.env.SERVICE_TOKENS));
  }
  await next();
});

function challenge(error?: "invalid_request" | "invalid_token"): string {
  return error === undefined ? `Bearer realm="${SERVICE_REALM}"` : `Bearer realm="${SERVICE_REALM}", error="${error}"`;
}

/**
 * Answers 401 with `WWW-Authenticate: Bearer` (RFC 6750 §3) unless `identifyService` verified a
 * service token. The detail says what is wrong, never which token was expected.
 */
export const requireServiceToken = createMiddleware<ServiceEnv>(async (c, next) => {
  if (c.get("service") === undefined) {
    if (parseServiceTokens(c.env.SERVICE_TOKENS).length === 0) {
      // Fail closed, and say so in the log: nobody can call service routes until it is configured.
      console.log(
        JSON.stringify({ level: "warn", msg: "SERVICE_TOKENS is not configured", request_id: c.get("requestId") }),
      );
    }
    const authorization = c.req.header("authorization");
    const [detail, error] =
      extractSignature(c.req.raw.headers) !== undefined
        ? (["Service routes accept only a service token; do not send x-signature.", "invalid_request"] as const)
        : authorization === undefined
          ? (["A service token is required (Authorization: Bearer).", undefined] as const)
          : (["Invalid service token.", "invalid_token"] as const);
    throw new HttpProblem({
      status: 401,
      type: PROBLEM_TYPES.unauthorized,
      detail,
      headers: { "www-authenticate": challenge(error) },
    });
  }
  await next();
});
