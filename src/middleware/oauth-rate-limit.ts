import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { RateLimitQuota } from "../durable-objects/rate-limit-policy";
import type { AppEnv } from "../env";
import { GUID_PATTERN } from "../lib/ids";
import { enforceQuota, type OutagePolicy } from "../rate-limit/limiter";
import { introspectQuota, tokenQuota } from "../rate-limit/quotas";

/**
 * The authorization server's client-facing limits (AS §9), on `POST /oauth2/token`,
 * `POST /oauth2/revoke` and `POST /oauth2/introspect`, through the same `RateLimiter` object as the
 * API (src/rate-limit/limiter.ts). Each endpoint has its own bucket (`token`, `revoke`,
 * `introspect`) in the object of the client the request names (`client:<id>`), or of its IP when
 * it names none (`ip:<address>`). Over quota: 429, rendered by `app.onError` as
 * `{"error":"slow_down"}` with `Retry-After`, `RateLimit` and `RateLimit-Policy`.
 *
 * The limiter runs before client authentication, so the key is the client the request *claims*
 * to be: HTTP Basic (`client_secret_basic`) first, else the form's one `client_id`. A caller who
 * knows a client id can spend that client's quota; a quota that only authenticated requests spend
 * would cost a D1 read and a hash before every refusal, which is what a limiter must avoid.
 *
 * Limiter outage: token issuance and revocation write, so they fail closed (503
 * `temporarily_unavailable`); introspection only reads, and DocSpace's APIs call it on every
 * request, so it fails open, as API reads do (SPEC §10).
 */

type Endpoint = { policy: string; quota: (env: Env) => RateLimitQuota; outage: OutagePolicy };

const LIMITED_ENDPOINTS: Readonly<Record<string, Endpoint>> = {
  "/oauth2/token": { policy: "token", quota: tokenQuota, outage: "closed" },
  "/oauth2/revoke": { policy: "revoke", quota: tokenQuota, outage: "closed" },
  "/oauth2/introspect": { policy: "introspect", quota: introspectQuota, outage: "open" },
};

/**
 * A body declared larger is not read here (the key falls back to the IP); the endpoint's own handler
 * judges it. OAuth form bodies are a few hundred bytes. A body without `Content-Length` is read: the
 * handler reads it anyway, and the platform bounds it.
 */
const MAX_KEYED_BODY_BYTES = 64 * 1024;

/** Limits `POST` on the endpoints of `LIMITED_ENDPOINTS` (with or without a trailing slash); passes everything else. */
export const oauthRateLimit = createMiddleware<AppEnv>(async (c, next) => {
  if (c.req.method !== "POST") return next();
  const path = c.req.path.length > 1 && c.req.path.endsWith("/") ? c.req.path.slice(0, -1) : c.req.path;
  const endpoint = LIMITED_ENDPOINTS[path];
  if (!endpoint) return next();
  const quota = endpoint.quota(c.env);
  const clientId = await claimedClientId(c);
  const key = clientId ? `client:${clientId}` : `ip:${c.req.header("cf-connecting-ip") ?? "unknown"}`;
  const headers = await enforceQuota(
    c.env.RATE_LIMITER,
    { key, policy: endpoint.policy, quota },
    { outage: endpoint.outage, requestId: c.get("requestId"), what: `requests to ${path}` },
  );
  await next();
  for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
});

/**
 * The client id a request claims (lower-case), or `undefined`: from `Authorization: Basic` (RFC 6749
 * §2.3.1, the id form-urlencoded before base64), else from exactly one `client_id` field of an
 * `application/x-www-form-urlencoded` body. Only a well-formed client id (a GUID) counts, so a
 * caller cannot make one limiter object per made-up string. The body is read through Hono's body
 * cache (`c.req.arrayBuffer()`), so the route after this still reads it with `c.req.parseBody()`,
 * `c.req.formData()` or `c.req.text()` — never `c.req.raw`, whose stream this consumed.
 */
async function claimedClientId(c: Context<AppEnv>): Promise<string | undefined> {
  const basic = basicClientId(c.req.header("authorization"));
  if (basic !== undefined) return wellFormed(basic);
  if (!/^application\/x-www-form-urlencoded\b/i.test(c.req.header("content-type") ?? "")) return undefined;
  const declared = c.req.header("content-length");
  if (declared !== undefined && !(Number(declared) <= MAX_KEYED_BODY_BYTES)) return undefined;
  let form: URLSearchParams;
  try {
    form = new URLSearchParams(new TextDecoder().decode(await c.req.arrayBuffer()));
  } catch {
    return undefined;
  }
  const ids = form.getAll("client_id");
  return ids.length === 1 ? wellFormed(ids[0]) : undefined;
}

/** The user part of a Basic credential, form-urlencoding undone; `undefined` when absent or malformed. */
function basicClientId(authorization: string | undefined): string | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/]+={0,2})\s*$/i.exec(authorization ?? "");
  if (!match?.[1]) return undefined;
  try {
    const decoded = atob(match[1]);
    const colon = decoded.indexOf(":");
    if (colon < 0) return undefined;
    return decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, " "));
  } catch {
    return undefined;
  }
}

const wellFormed = (id: string | undefined): string | undefined =>
  id !== undefined && GUID_PATTERN.test(id) ? id.toLowerCase() : undefined;
