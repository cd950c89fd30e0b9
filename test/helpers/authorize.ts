import { exports } from "cloudflare:workers";
import { createClientAs } from "./api";
import type { AppFetcher } from "./app";
import { type Caller, docspaceExp, newCaller, signFor } from "./signature";

/**
 * The authorization endpoint (AS §4) in tests: a tenant origin the x-signature names, clients made
 * through the management API, signed browsers, and the consent form's hidden fields.
 */

export const ORIGIN = "https://docspace.test";
export const ISSUER = `${ORIGIN}/oauth2`;
export const AUTHORIZE = `${ORIGIN}/oauth2/authorize`;
/** A valid S256 challenge (RFC 7636 appendix B). */
export const CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
export const VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/** An x-signature for `caller` whose tenant_url is `origin` (AS §2). */
export function signatureAt(
  caller: Caller,
  origin = ORIGIN,
  fetcher?: AppFetcher,
  overrides: Record<string, unknown> = {},
) {
  const clock = fetcher?.clock;
  return signFor(caller, { tenant_url: origin, ...(clock ? { exp: docspaceExp(clock()) } : {}), ...overrides });
}

/** A client registered by a fresh admin; returns the client and the admin. */
export async function newAuthorizeClient(overrides: Record<string, unknown> = {}) {
  const owner = newCaller("ADMIN");
  const client = await createClientAs(owner, {
    redirect_uris: ["https://app.example/cb"],
    scopes: ["files:read", "files:write", "openid"],
    allow_pkce: true,
    ...overrides,
  });
  return { owner, client };
}

/** Authorization request parameters, defaults for a PKCE request of `clientId`. */
export function authorizeParams(clientId: string, overrides: Record<string, string | null> = {}) {
  const params: Record<string, string | null> = {
    response_type: "code",
    client_id: clientId,
    redirect_uri: "https://app.example/cb",
    scope: "files:read",
    state: "st-123",
    code_challenge: CHALLENGE,
    code_challenge_method: "S256",
    ...overrides,
  };
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== null) query.append(name, value);
  return query;
}

type BrowserOptions = {
  /** The signed-in user (cookie x-signature); none = signed out. */
  caller?: Caller;
  /** A ready x-signature (overrides `caller`). */
  signature?: string;
  origin?: string;
  fetcher?: AppFetcher;
  headers?: Record<string, string>;
  cookies?: Record<string, string>;
};

async function cookieHeader(options: BrowserOptions): Promise<string | undefined> {
  const cookies: Record<string, string> = { ...options.cookies };
  const signature =
    options.signature ??
    (options.caller ? await signatureAt(options.caller, options.origin ?? ORIGIN, options.fetcher) : undefined);
  if (signature !== undefined) cookies["x-signature"] = signature;
  const pairs = Object.entries(cookies).map(([name, value]) => `${name}=${value}`);
  return pairs.length > 0 ? pairs.join("; ") : undefined;
}

const send = (request: Request, fetcher?: AppFetcher) => (fetcher ? fetcher(request) : exports.default.fetch(request));

/** GET /oauth2/authorize with `query` (a string keeps duplicates exactly as written). */
export async function authorize(query: URLSearchParams | string, options: BrowserOptions = {}): Promise<Response> {
  const headers = new Headers(options.headers);
  const cookie = await cookieHeader(options);
  if (cookie) headers.set("cookie", cookie);
  const origin = options.origin ?? ORIGIN;
  return send(
    new Request(`${origin}/oauth2/authorize?${query.toString()}`, { headers, redirect: "manual" }),
    options.fetcher,
  );
}

/** The consent form's hidden fields. */
export function consentFields(html: string): { requestId: string; csrfToken: string } {
  const requestId = /name="request_id" value="([^"]+)"/.exec(html)?.[1];
  const csrfToken = /name="csrf_token" value="([^"]+)"/.exec(html)?.[1];
  if (!requestId || !csrfToken) throw new Error(`no consent form in:\n${html.slice(0, 500)}`);
  return { requestId, csrfToken };
}

/** The consent page's form post, from the same origin unless `headers` say otherwise. */
export async function postDecision(fields: Record<string, string>, options: BrowserOptions = {}): Promise<Response> {
  const origin = options.origin ?? ORIGIN;
  const headers = new Headers({
    "content-type": "application/x-www-form-urlencoded",
    origin,
    "sec-fetch-site": "same-origin",
    ...options.headers,
  });
  for (const [name, value] of Object.entries(options.headers ?? {})) if (value === "") headers.delete(name);
  const cookie = await cookieHeader(options);
  if (cookie) headers.set("cookie", cookie);
  return send(
    new Request(`${origin}/oauth2/authorize`, {
      method: "POST",
      headers,
      body: new URLSearchParams(fields).toString(),
      redirect: "manual",
    }),
    options.fetcher,
  );
}

/** DocSpace's consent UI's post: multipart, x-signature header, X-Disable-Redirect. */
export async function postDocSpaceDecision(
  fields: { client_id: string; state: string; scope?: string[] },
  options: BrowserOptions = {},
): Promise<Response> {
  const origin = options.origin ?? ORIGIN;
  const form = new FormData();
  form.append("client_id", fields.client_id);
  form.append("state", fields.state);
  for (const scope of fields.scope ?? []) form.append("scope", scope);
  const headers = new Headers({ "x-disable-redirect": "true", ...options.headers });
  const signature =
    options.signature ?? (options.caller ? await signatureAt(options.caller, origin, options.fetcher) : undefined);
  if (signature) headers.set("x-signature", signature);
  return send(
    new Request(`${origin}/oauth2/authorize`, { method: "POST", headers, body: form, redirect: "manual" }),
    options.fetcher,
  );
}

/** The query of a redirect's Location (or X-Redirect-URI), with the URL before it. */
export function redirectTarget(location: string | null) {
  if (location === null) throw new Error("no Location");
  const url = new URL(location);
  return { base: `${url.origin}${url.pathname}`, url, params: url.searchParams };
}

/** The Set-Cookie lines of a response, by cookie name. */
export function setCookies(response: Response): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const line of response.headers.getSetCookie()) cookies.set(line.slice(0, line.indexOf("=")), line);
  return cookies;
}

/** The value of a Set-Cookie line. */
export const cookieValue = (line: string | undefined) => line?.slice(line.indexOf("=") + 1).split(";")[0] ?? "";
