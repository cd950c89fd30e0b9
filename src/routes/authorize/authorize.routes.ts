import { createRoute, z } from "@hono/zod-openapi";
import { describedProblem, TAGS, X_SIGNATURE_SECURITY } from "../../lib/openapi-responses";

/**
 * Contracts of the authorization endpoint (AS §1, §3, §4). Every check after the redirect URI was
 * trusted must answer with a redirect to that URI (RFC 6749 §4.1.2.1) and a repeated parameter is
 * itself an error, so a route validator (which answers problem+json before the handler runs) cannot
 * be used: the routes are registered for the document (`openAPIRegistry.registerPath`) and the
 * handlers run the zod schemas themselves — `AuthorizeQueryValuesSchema` bounds every query value
 * (the error page on failure), the decision schemas read the POSTed forms — and
 * services/authorize-request.ts judges the rest.
 */

export const AUTHORIZE_PATH = "/oauth2/authorize";

const param = (description: string, example?: string) =>
  z
    .string()
    .optional()
    .openapi({ description, ...(example === undefined ? {} : { example }) });

export const AuthorizeQuerySchema = z.object({
  response_type: param("Must be `code`. Required.", "code"),
  client_id: param(
    "The client's id. Required; an unknown or disabled client gets an HTML error page.",
    "5c1e2a8e-7a3f-4a53-9e4b-1f6f1b0f5d2a",
  ),
  redirect_uri: param(
    "Exactly one of the client's registered redirect URIs (any port for http://127.0.0.1 and http://[::1], RFC 8252 §7.3). Optional when the client has exactly one. A wrong one gets an HTML error page, never a redirect.",
    "https://app.example.com/oauth/callback",
  ),
  scope: param(
    "Space-delimited scopes, each registered with the client. Empty means all of the client's scopes.",
    "files:read openid",
  ),
  state: param("Returned unchanged in the redirect.", "af0ifjsldkj"),
  code_challenge: param(
    "PKCE (RFC 7636): BASE64URL(SHA-256(code_verifier)), 43–128 characters.",
    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
  ),
  code_challenge_method: param("`S256` (the only method); required with `code_challenge`.", "S256"),
  nonce: param("OpenID Connect: copied into the ID token.", "n-0S6_WzA2Mj"),
});

/**
 * The longest value each query parameter may have. Checked by zod before anything else (an over-long
 * value gets the error page, never a redirect); everything else about the query is the service's.
 */
const QUERY_MAX_LENGTHS = {
  response_type: 64,
  client_id: 64,
  redirect_uri: 2048,
  scope: 2048,
  state: 2048,
  code_challenge: 1024,
  code_challenge_method: 16,
  nonce: 512,
} as const;

/** Every value of every parameter the endpoint reads (repeats included: the service refuses them). */
export const AuthorizeQueryValuesSchema = z.object(
  Object.fromEntries(
    Object.entries(QUERY_MAX_LENGTHS).map(([name, max]) => [name, z.array(z.string().max(max))]),
  ) as Record<keyof typeof QUERY_MAX_LENGTHS, z.ZodArray<z.ZodString>>,
);

/** The query's values by parameter, as `AuthorizeQueryValuesSchema` reads them. */
export function queryValuesOf(query: URLSearchParams): Record<string, string[]> {
  return Object.fromEntries(Object.keys(QUERY_MAX_LENGTHS).map((name) => [name, query.getAll(name)]));
}

/** A random value of ours (pending id, CSRF token): 43 base64url characters; a little slack, never more. */
const opaque = z.string().min(1).max(128);

export const BrowserDecisionSchema = z
  .object({
    request_id: opaque.openapi({ description: "The pending request's id (a hidden field of the consent page)." }),
    csrf_token: opaque.openapi({ description: "The CSRF token bound to the pending request (hidden field)." }),
    decision: z.enum(["allow", "deny"]).openapi({ description: "The button the user pressed." }),
  })
  .openapi("AuthorizationDecisionForm");

export const DocSpaceDecisionSchema = z
  .object({
    client_id: z.string().min(1).max(64).openapi({ description: "The client the pending request is for." }),
    state: opaque.openapi({ description: "The pending request's id, from the `client_state` cookie." }),
    scope: z
      .array(z.string().max(256))
      .max(64)
      .optional()
      .openapi({ description: "One field per granted scope, a subset of the requested ones. None: the user denied." }),
  })
  .openapi("DocSpaceConsentForm");

const html = (description: string) => ({
  description,
  content: { "text/html": { schema: z.string().openapi({ example: "<!doctype html>…" }) } },
});

const LOCATION = {
  description:
    "Where the browser goes next: the client's redirect URI with `code`, `state` and `iss` (RFC 9207), or with `error`, `error_description`, `state` and `iss`; or LOGIN_URL with `type=oauth2&client_id=…`.",
  required: true,
  schema: { type: "string" as const, format: "uri" },
};

const PAGE_HEADERS = {
  "Content-Security-Policy": {
    description: "No script, no external asset; the stylesheet is same-origin.",
    required: true,
    schema: { type: "string" as const },
  },
  "Cache-Control": {
    description: "Never cached.",
    required: true,
    schema: { type: "string" as const, enum: ["no-store"] },
  },
};

export const getAuthorizeRoute = createRoute({
  method: "get",
  path: AUTHORIZE_PATH,
  operationId: "authorize",
  summary: "Start of the authorization-code flow (OAuth 2.1 §4.1, PKCE, RFC 9207)",
  description:
    "A top-level browser navigation. The user is the one named by the x-signature cookie (AS §3) whose `tenant_url` has this origin; without one the browser is sent to LOGIN_URL (with a `x-redirect-authorization-uri` cookie to come back). With a stored consent covering the scopes, or only `openid`, the code is issued at once; otherwise the consent page (CONSENT_UI=builtin) or DocSpace's consent UI (CONSENT_UI=docspace, via LOGIN_URL). Rate limited per user or IP (AS §9).",
  tags: TAGS.oauth,
  security: [{}, ...X_SIGNATURE_SECURITY],
  request: { query: AuthorizeQuerySchema },
  responses: {
    200: { ...html("The consent page (CONSENT_UI=builtin)."), headers: PAGE_HEADERS },
    302: {
      description:
        "To the client (code, or an OAuth error once the redirect URI is trusted — `temporarily_unavailable` over the authorize quota, AS §9), or to LOGIN_URL (not signed in, or CONSENT_UI=docspace). Cookies `x-redirect-authorization-uri` and, when consent is needed, `client_state` (HttpOnly, SameSite=Lax, 10 minutes).",
      headers: {
        Location: LOCATION,
        "Set-Cookie": { description: "`x-redirect-authorization-uri`, `client_state`.", schema: { type: "string" } },
      },
    },
    400: {
      ...html("Unknown, disabled or non-public client, or a redirect URI that is not registered: no redirect."),
      headers: PAGE_HEADERS,
    },
    503: describedProblem(503, "The database is unavailable; nothing was issued or stored."),
  },
});

export const postAuthorizeRoute = createRoute({
  method: "post",
  path: AUTHORIZE_PATH,
  operationId: "decideAuthorization",
  summary: "The user's consent decision (AS §4 step 8)",
  description:
    "Two callers. The consent page posts `application/x-www-form-urlencoded` from the same origin (Origin, or Sec-Fetch-Site: same-origin) with the pending request's id, its CSRF token and `decision`; the answer is a 302 to the client. DocSpace's consent UI posts `multipart/form-data` with `client_id`, `state` (the `client_state` cookie) and one `scope` per granted scope, with `X-Disable-Redirect: true`; the answer is 200 with the same URL in `X-Redirect-URI`. The signed-in user must be the one the request was made for. A request is decided once.",
  tags: TAGS.oauth,
  security: X_SIGNATURE_SECURITY,
  request: {
    body: {
      required: true,
      content: {
        "application/x-www-form-urlencoded": { schema: BrowserDecisionSchema },
        "multipart/form-data": { schema: DocSpaceDecisionSchema },
      },
    },
  },
  responses: {
    200: {
      description: "DocSpace's consent UI (`X-Disable-Redirect: true`): where to send the browser, instead of a 302.",
      headers: {
        "X-Redirect-URI": {
          ...LOCATION,
          description: "The client's redirect URI with `code` or `error=access_denied`, `state` and `iss`.",
        },
      },
    },
    302: {
      description: "To the client's redirect URI with `code` or `error=access_denied`, `state` and `iss`.",
      headers: { Location: LOCATION },
    },
    400: {
      ...html(
        "The pending request is unknown, expired, already decided, or belongs to another user; a wrong CSRF token; a malformed body. Nothing changed.",
      ),
      headers: PAGE_HEADERS,
    },
    403: { ...html("Not same-origin, or no valid x-signature for this origin."), headers: PAGE_HEADERS },
    429: {
      ...html("Over the user's (or, signed out, the IP's) authorize quota (AS §9), or the limiter is unreachable."),
      headers: PAGE_HEADERS,
    },
  },
});
