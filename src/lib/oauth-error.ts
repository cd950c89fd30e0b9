import type { ProblemInit } from "./problem";

/**
 * OAuth error responses (RFC 6749 §5.2, AS §1): the authorization server's JSON endpoints (token,
 * introspection, revocation, userinfo) answer `{"error": "…", "error_description": "…"}` instead of
 * problem+json, always with `Cache-Control: no-store`. Any layer may throw an `OAuthError`;
 * `app.onError` renders it, and renders an `HttpProblem` thrown on one of these endpoints (a 503
 * from the store, a 429 from the limiter) in the same shape (`oauthErrorFromProblem`).
 */

/** Error codes of RFC 6749 §5.2 and §4.1.2.1, RFC 7009 §2.2.1 and RFC 6750 §3.1 this server uses. */
export type OAuthErrorCode =
  | "invalid_request"
  | "invalid_client"
  | "invalid_grant"
  | "unauthorized_client"
  | "unsupported_grant_type"
  | "unsupported_token_type"
  | "unsupported_response_type"
  | "invalid_scope"
  | "access_denied"
  | "invalid_token"
  | "insufficient_scope"
  | "slow_down"
  | "server_error"
  | "temporarily_unavailable";

export type OAuthErrorStatus = 400 | 401 | 403 | 405 | 413 | 415 | 429 | 500 | 503;

export type OAuthErrorInit = {
  status: OAuthErrorStatus;
  error: OAuthErrorCode;
  /** Human-readable, safe to show: never a secret, a token or a stack. */
  description: string;
  headers?: Record<string, string>;
};

/** The JSON endpoints whose errors are OAuth errors (AS §1); `/oauth2/authorize` redirects or renders HTML instead. */
export const OAUTH_JSON_PATHS: readonly string[] = [
  "/oauth2/token",
  "/oauth2/introspect",
  "/oauth2/revoke",
  "/oauth2/userinfo",
];

/** Whether `path` (with or without a trailing slash) is one of `OAUTH_JSON_PATHS`. */
export function isOAuthJsonPath(path: string): boolean {
  const trimmed = path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
  return OAUTH_JSON_PATHS.includes(trimmed);
}

/** An OAuth error any layer may throw; rendered once by the app's error handler. */
export class OAuthError extends Error {
  readonly init: OAuthErrorInit;
  /** `cause` is logged with the request id, never rendered. */
  constructor(init: OAuthErrorInit, cause?: unknown) {
    super(init.description, cause === undefined ? undefined : { cause });
    this.name = "OAuthError";
    this.init = init;
  }
}

export const invalidRequest = (description: string): OAuthError =>
  new OAuthError({ status: 400, error: "invalid_request", description });

export const invalidGrant = (description: string): OAuthError =>
  new OAuthError({ status: 400, error: "invalid_grant", description });

export const invalidScope = (description: string): OAuthError =>
  new OAuthError({ status: 400, error: "invalid_scope", description });

/**
 * 401 `invalid_client` with a Basic challenge (RFC 6749 §5.2), one body for every cause — unknown
 * client, wrong secret, missing credentials — so that a caller cannot tell which it was.
 */
export const invalidClient = (): OAuthError =>
  new OAuthError({
    status: 401,
    error: "invalid_client",
    description: "Client authentication failed.",
    headers: { "www-authenticate": 'Basic realm="oauth2", charset="UTF-8"' },
  });

/** The OAuth shape of a problem thrown on an OAuth JSON endpoint (store outage, rate limit, bad body). */
export function oauthErrorFromProblem(problem: ProblemInit): OAuthErrorInit {
  const headers = problem.headers;
  if (problem.status === 429) return { status: 429, error: "slow_down", description: problem.detail, headers };
  if (problem.status === 503) {
    return { status: 503, error: "temporarily_unavailable", description: problem.detail, headers };
  }
  if (problem.status === 413 || problem.status === 415 || problem.status === 405) {
    return { status: problem.status, error: "invalid_request", description: problem.detail, headers };
  }
  if (problem.status >= 500) return { status: 500, error: "server_error", description: problem.detail, headers };
  return { status: 400, error: "invalid_request", description: problem.detail, headers };
}

/**
 * `error_description` as RFC 6749 §4.1.2.1 and §5.2 (OAuth 2.1 §3.2.4, §4.1.2.1) allow it: printable
 * ASCII without `"` and `\\` (%x20-21 / %x23-5B / %x5D-7E). Descriptions may quote what the client
 * sent (a scope, a parameter name); every character outside the set becomes `?`, so no request can
 * make an error break the rule (docs/conformance.md, R6749-4.1.2.1-i and R6749-5.2-h).
 */
export function errorDescriptionText(text: string): string {
  return text.replace(/[^\x20-\x21\x23-\x5B\x5D-\x7E]/g, "?");
}

/** Renders an OAuth error: JSON, `no-store` (RFC 6749 §5.1 asks it of every token response). */
export function oauthErrorResponse(init: OAuthErrorInit): Response {
  const headers = new Headers(init.headers);
  headers.set("content-type", "application/json");
  headers.set("cache-control", "no-store");
  headers.set("pragma", "no-cache");
  return new Response(
    JSON.stringify({ error: init.error, error_description: errorDescriptionText(init.description) }),
    {
      status: init.status,
      headers,
    },
  );
}
