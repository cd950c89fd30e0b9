import type { Context } from "hono";
import { setCookie } from "hono/cookie";
import type { Principal } from "../../auth/principal";
import type { AppEnv } from "../../env";
import type { OAuthErrorCode } from "../../lib/oauth-error";
import { base64UrlOf, consentUiOf, isLoopbackHost, isTenantOrigin, loginUrlFor } from "../../lib/sign-in";
import { renderConsentPage } from "../../pages/consent-page";
import { renderErrorPage } from "../../pages/error-page";
import { consentPageCsp, PAGE_CSP, PAGE_STYLESHEET } from "../../pages/page-style";
import { type AuthorizeRateLimit, takeAuthorizeQuota } from "../../rate-limit/authorize";
import {
  type AuthorizationDecision,
  type AuthorizationResponse,
  decideInBrowser,
  decideInDocSpace,
  redirectUrlOf,
  startAuthorization,
} from "../../services/authorize-decision";
import { checkAuthorizeRequest } from "../../services/authorize-request";
import {
  AuthorizeQueryValuesSchema,
  BrowserDecisionSchema,
  DocSpaceDecisionSchema,
  queryValuesOf,
} from "./authorize.routes";

/** Cookies of AS §3 and §4 step 8: the pending id for DocSpace's consent UI, and the way back after sign-in. */
const CLIENT_STATE_COOKIE = "client_state";
const RETURN_COOKIE = "x-redirect-authorization-uri";
const COOKIE_MAX_AGE_SECONDS = 600;

const NO_STORE = { "cache-control": "no-store", "referrer-policy": "no-referrer" };

/** An HTML page of the authorization server with its security headers. */
function page(c: Context<AppEnv>, status: 200 | 400 | 403 | 429, body: Promise<string>, csp = PAGE_CSP) {
  return c.html(body, status, {
    ...NO_STORE,
    "content-security-policy": csp,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
  });
}

const errorPage = (c: Context<AppEnv>, status: 400 | 403 | 429, title: string, message: string) =>
  page(c, status, renderErrorPage({ title, message }), PAGE_CSP);

function redirect(c: Context<AppEnv>, location: string) {
  for (const [name, value] of Object.entries(NO_STORE)) c.header(name, value);
  return c.redirect(location, 302);
}

/** The principal, if its signature was minted for this origin's tenant (AS §2); else signed out. */
function signedInHere(principal: Principal | undefined, origin: string): Principal | undefined {
  return principal && isTenantOrigin(principal.tenantUrl, origin) ? principal : undefined;
}

/** HttpOnly, SameSite=Lax, Path=/, 10 minutes; Secure except on a loopback host (AS §3). */
function setFlowCookie(c: Context<AppEnv>, url: URL, name: string, value: string) {
  setCookie(c, name, value, {
    httpOnly: true,
    secure: !isLoopbackHost(url.hostname),
    sameSite: "Lax",
    path: "/",
    maxAge: COOKIE_MAX_AGE_SECONDS,
  });
}

const responseUrl = (response: AuthorizationResponse, url: URL) => redirectUrlOf(response, url.origin);

/** An OAuth error back to a redirect URI the client registered (RFC 6749 §4.1.2.1, with `iss`). */
function redirectError(
  c: Context<AppEnv>,
  url: URL,
  redirectUri: string,
  state: string | null,
  error: OAuthErrorCode,
  description: string,
) {
  const params: Record<string, string> = { error, error_description: description };
  if (state !== null) params.state = state;
  return redirect(c, responseUrl({ redirectUri, params }, url));
}

/**
 * One unit of the authorize bucket (AS §9) of the signed-in user, else of the IP; its RateLimit
 * headers go on whatever the handler answers. Taken first, before the request's writes.
 */
async function takeQuota(c: Context<AppEnv>, principal: Principal | undefined): Promise<AuthorizeRateLimit> {
  const caller = principal
    ? { tenantId: principal.tenantId, userId: principal.userId }
    : { ip: c.req.header("cf-connecting-ip") ?? null };
  const limit = await takeAuthorizeQuota(c.env, caller, c.get("requestId"));
  for (const [name, value] of Object.entries(limit.headers)) c.header(name, value);
  return limit;
}

/** What a refused request is told: over quota, or the limiter is down (RFC 6749 has no rate-limit error). */
const tooManyRequests = (limit: AuthorizeRateLimit) =>
  limit.reason === "limiter_unavailable"
    ? "The service is busy; try again in a moment."
    : `Too many authorization requests; try again in ${limit.retryAfterSeconds ?? 1} seconds.`;

/**
 * GET /oauth2/authorize (AS §4): check the request, then who the user is, then a code at once or
 * the consent step. See services/authorize-request.ts for why the query is read raw.
 */
export async function authorizeHandler(c: Context<AppEnv>) {
  const url = new URL(c.req.url);
  const principal = signedInHere(c.var.principal, url.origin);
  const limit = await takeQuota(c, principal);
  if (!AuthorizeQueryValuesSchema.safeParse(queryValuesOf(url.searchParams)).success) {
    // Too long to be a request of ours, whichever parameter it is: the page, never a redirect.
    return errorPage(c, 400, "Invalid request", "A parameter of the request is too long.");
  }
  // Even a refused request is checked (one client read), so that a refusal goes to the client only
  // through a redirect URI it registered: `temporarily_unavailable` (AS §9), else the page.
  const check = await checkAuthorizeRequest(c.var.deps.db, url.searchParams);
  if (check.kind === "page") return errorPage(c, 400, check.title, check.message);
  if (check.kind === "redirect_error") {
    return redirectError(c, url, check.redirectUri, check.state, check.error, check.description);
  }
  const { request } = check;
  if (!limit.allowed) {
    return redirectError(c, url, request.redirectUri, request.state, "temporarily_unavailable", tooManyRequests(limit));
  }

  const loginUrl = loginUrlFor(c.env.LOGIN_URL, url.origin, request.client.clientId);
  if (!principal) {
    setFlowCookie(c, url, RETURN_COOKIE, base64UrlOf(url.href));
    return redirect(c, loginUrl);
  }

  const start = await startAuthorization(c.var.deps, principal, request);
  if (start.kind === "respond") return redirect(c, responseUrl(start.response, url));

  setFlowCookie(c, url, CLIENT_STATE_COOKIE, start.pending.id);
  setFlowCookie(c, url, RETURN_COOKIE, base64UrlOf(url.href));
  if (consentUiOf(c.env.CONSENT_UI) === "docspace") return redirect(c, loginUrl);
  const { client } = request;
  return page(
    c,
    200,
    renderConsentPage({
      client,
      userName: principal.userName,
      scopes: start.scopes,
      requestId: start.pending.id,
      csrfToken: start.pending.csrfToken,
    }),
    consentPageCsp(request.redirectUri),
  );
}

/**
 * Whether a decision comes from this origin. The consent page is served with `Referrer-Policy:
 * no-referrer`, so browsers send `Origin: null` on its form post (Fetch §3.1); `Sec-Fetch-Site:
 * same-origin` then proves the origin (sent on https and loopback, which browsers treat as secure).
 * An `Origin` of another site is refused whatever else is sent.
 */
function isSameOrigin(headers: Headers, origin: string): boolean {
  const sent = headers.get("origin");
  if (sent !== null && sent !== "null" && sent !== origin) return false;
  return sent === origin || headers.get("sec-fetch-site") === "same-origin";
}

/** POST /oauth2/authorize (AS §4 step 8): the consent page's form, or DocSpace's consent UI. */
export async function decideAuthorizationHandler(c: Context<AppEnv>) {
  const url = new URL(c.req.url);
  const principal = signedInHere(c.var.principal, url.origin);
  const limit = await takeQuota(c, principal);
  if (!limit.allowed) return errorPage(c, 429, "Too many requests", tooManyRequests(limit));
  const type = (c.req.header("content-type") ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  const browser = type === "application/x-www-form-urlencoded";
  if (!browser && type !== "multipart/form-data") {
    return errorPage(c, 400, "Unreadable request", "The decision must be posted as a form.");
  }
  const sent = c.req.header("origin");
  if (
    browser
      ? !isSameOrigin(c.req.raw.headers, url.origin)
      : sent !== undefined && sent !== "null" && sent !== url.origin
  ) {
    return errorPage(c, 403, "Request refused", "The decision did not come from this site's consent page.");
  }
  // DocSpace's consent UI sends the signature as a header, which a cross-site form cannot set: the
  // multipart decision needs it there even when the cookie signs the user in (CSRF safety).
  if (!browser && c.req.header("x-signature") === undefined) {
    return errorPage(c, 403, "Request refused", "The decision must carry the x-signature header.");
  }
  if (!principal) {
    return errorPage(
      c,
      403,
      "Not signed in",
      "Your DocSpace session has ended. Sign in and start again from the application.",
    );
  }

  let body: Record<string, string | File | (string | File)[]>;
  try {
    body = await c.req.parseBody({ all: true });
  } catch {
    return errorPage(c, 400, "Unreadable request", "The decision could not be read.");
  }

  // A repeated field arrives as an array and a file as a File: both fail the schemas' strings.
  let decision: AuthorizationDecision;
  if (browser) {
    const form = BrowserDecisionSchema.safeParse(body);
    if (!form.success) return errorPage(c, 400, "Unreadable request", "The decision is incomplete.");
    const { request_id: requestId, csrf_token: csrfToken } = form.data;
    decision = await decideInBrowser(c.var.deps, principal, {
      requestId,
      csrfToken,
      allow: form.data.decision === "allow",
    });
  } else {
    // One `scope` field arrives as a string, several as an array.
    const scope = body.scope === undefined || Array.isArray(body.scope) ? body.scope : [body.scope];
    const form = DocSpaceDecisionSchema.safeParse({ ...body, scope });
    if (!form.success) return errorPage(c, 400, "Unreadable request", "The decision is incomplete.");
    decision = await decideInDocSpace(c.var.deps, principal, {
      requestId: form.data.state,
      clientId: form.data.client_id,
      granted: form.data.scope ?? [],
    });
  }

  if (decision.kind === "unknown_request") {
    return errorPage(
      c,
      400,
      "This request is no longer valid",
      "It was already answered, it expired after 10 minutes, or it was made for another account.",
    );
  }
  if (decision.kind === "client_unavailable") {
    return errorPage(c, 400, "Unknown application", "The application has been deleted or disabled.");
  }
  const location = responseUrl(decision.response, url);
  if (!browser && c.req.header("x-disable-redirect")?.toLowerCase() === "true") {
    return c.body(null, 200, { ...NO_STORE, "x-redirect-uri": location });
  }
  return redirect(c, location);
}

/** The pages' stylesheet: static, same-origin (the CSP allows no inline style), cacheable for a day. */
export function stylesheetHandler(c: Context<AppEnv>) {
  return c.body(PAGE_STYLESHEET, 200, {
    "content-type": "text/css; charset=utf-8",
    "cache-control": "public, max-age=86400",
    "x-content-type-options": "nosniff",
  });
}
