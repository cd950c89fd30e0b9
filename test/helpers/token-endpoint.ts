import { env, exports } from "cloudflare:workers";
import { issueCode } from "../../src/authorization/codes";
import type { AuthorizationDeps } from "../../src/authorization/deps";
import { authorizationSettings } from "../../src/authorization/settings";
import { createDb } from "../../src/db/client";
import { createClientAs } from "./api";
import { serviceCall } from "./service";
import { type Caller, newCaller } from "./signature";

/**
 * POST /oauth2/token in tests: real clients made through the management API, codes issued through
 * the authorization store (the authorize endpoint is another issue), consents recorded through the
 * service route. The origin is the one `docspaceClaims` puts in `tenant_url`, so a test user's
 * x-signature counts at this token endpoint (AS §2).
 */

export const ORIGIN = "http://localhost:8092";
export const ISSUER = `${ORIGIN}/oauth2`;
export const TOKEN_URL = `${ORIGIN}/oauth2/token`;
export const JWKS_URL = `${ORIGIN}/oauth2/jwks`;
export const REDIRECT_URI = "https://example.com/callback";

/** A verifier and its S256 challenge (RFC 7636 appendix B). */
export const VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
export const CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

export type TestClient = { client_id: string; client_secret: string; owner: Caller };

/** A client registered through POST /api/2.0/clients by a fresh admin. */
export async function newClient(overrides: Record<string, unknown> = {}): Promise<TestClient> {
  const owner = newCaller("ADMIN");
  const created = await createClientAs(owner, overrides);
  return { client_id: created.client_id, client_secret: created.client_secret, owner };
}

/** A user who signs in to authorize: a tenant and user no other test uses. */
export type TestUser = { userId: string; tenant: number };

export function newUser(): TestUser {
  const caller = newCaller("USER");
  return { userId: caller.userId, tenant: caller.tenantId };
}

/** Records the user's consent through the service route (as the authorize endpoint will). */
export async function consent(clientId: string, user: TestUser, scopes: string[]): Promise<void> {
  const response = await serviceCall("PUT", "/oauth2/consents", {
    body: { client_id: clientId, user_id: user.userId, tenant_id: user.tenant, scopes },
  });
  if (response.status >= 300) throw new Error(`consent failed: ${response.status} ${await response.text()}`);
}

export function storeDepsAt(now: number): AuthorizationDeps {
  return { db: createDb(env.DB), now, authorization: authorizationSettings(env) };
}

export type CodeOptions = {
  scopes?: string[];
  codeChallenge?: string | null;
  nonce?: string | null;
  redirectUri?: string;
  authTime?: number;
  now?: number;
  userName?: string;
  userEmail?: string;
};

/** Issues a code for (client, user) as the authorize endpoint would; with a PKCE challenge unless told otherwise. */
export function codeFor(clientId: string, user: TestUser, options: CodeOptions = {}): Promise<string> {
  const now = options.now ?? Date.now();
  return issueCode(storeDepsAt(now), {
    clientId,
    tenant: user.tenant,
    userId: user.userId,
    redirectUri: options.redirectUri ?? REDIRECT_URI,
    scopes: options.scopes ?? ["files:read", "openid"],
    codeChallenge: options.codeChallenge === undefined ? CHALLENGE : options.codeChallenge,
    nonce: options.nonce === undefined ? "nonce-1" : options.nonce,
    authTime: options.authTime ?? now - 5_000,
    userName: options.userName,
    userEmail: options.userEmail,
  });
}

/** A client, a consenting user and a code: the start of every code-grant test. */
export async function consentedCode(clientOverrides: Record<string, unknown> = {}, options: CodeOptions = {}) {
  const client = await newClient(clientOverrides);
  const user = newUser();
  await consent(client.client_id, user, options.scopes ?? ["files:read", "openid"]);
  const code = await codeFor(client.client_id, user, options);
  return { client, user, code };
}

export type TokenCallOptions = {
  /** `client_secret_basic` credentials; sent form-urlencoded as RFC 6749 §2.3.1 asks. */
  basic?: { id: string; secret: string };
  headers?: Record<string, string>;
  /** A raw body instead of `form`. */
  rawBody?: BodyInit;
  fetcher?: (request: Request) => Promise<Response>;
};

const formEncode = (value: string) => encodeURIComponent(value).replace(/%20/g, "+");

/** The Basic header value for (id, secret). */
export function basicAuth(id: string, secret: string): string {
  return `Basic ${btoa(`${formEncode(id)}:${formEncode(secret)}`)}`;
}

/** POST /oauth2/token with `form` (an array of pairs allows duplicates). */
export function tokenCall(
  form: Record<string, string> | [string, string][],
  options: TokenCallOptions = {},
): Promise<Response> {
  const headers = new Headers(options.headers);
  if (!headers.has("content-type")) headers.set("content-type", "application/x-www-form-urlencoded");
  if (options.basic) headers.set("authorization", basicAuth(options.basic.id, options.basic.secret));
  const body = options.rawBody ?? new URLSearchParams(form).toString();
  const request = new Request(TOKEN_URL, { method: "POST", headers, body });
  return options.fetcher ? options.fetcher(request) : exports.default.fetch(request);
}

/** The form of a code redemption by client_secret_post, with the test verifier. */
export function codeForm(
  client: TestClient,
  code: string,
  extra: Record<string, string | undefined> = {},
): Record<string, string> {
  const form: Record<string, string | undefined> = {
    grant_type: "authorization_code",
    code,
    redirect_uri: REDIRECT_URI,
    code_verifier: VERIFIER,
    client_id: client.client_id,
    client_secret: client.client_secret,
    ...extra,
  };
  // `undefined` leaves a parameter out.
  return Object.fromEntries(Object.entries(form).filter((e): e is [string, string] => e[1] !== undefined));
}

/** Redeems a code and returns the 200 body (throws otherwise). */
export async function redeem(client: TestClient, code: string, extra: Record<string, string | undefined> = {}) {
  const response = await tokenCall(codeForm(client, code, extra));
  if (response.status !== 200) throw new Error(`redeem failed: ${response.status} ${await response.text()}`);
  return (await response.json()) as Record<string, string | number>;
}

/** Refreshes by client_secret_post; the response. */
export function refreshCall(client: TestClient, refreshToken: string, extra: Record<string, string> = {}) {
  return tokenCall({
    grant_type: "refresh_token",
    refresh_token: refreshToken,
    client_id: client.client_id,
    client_secret: client.client_secret,
    ...extra,
  });
}

/** Status and parsed JSON body. */
export async function statusAndBody(response: Response): Promise<{ status: number; body: Record<string, unknown> }> {
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}
