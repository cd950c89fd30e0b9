import { exports } from "cloudflare:workers";
import * as openid from "openid-client";
import { call } from "./api";
import { type Caller, newCaller } from "./signature";
import {
  basicAuth,
  codeFor,
  consent,
  newClient,
  ORIGIN,
  redeem,
  type TestClient,
  type TestUser,
} from "./token-endpoint";

/**
 * Introspection, revocation and userinfo in tests (AS §7, §8): a granted client and user with real
 * tokens from the token endpoint, and the three endpoints called bare (as DocSpace's .NET APIs call
 * introspection) or through openid-client.
 */

export const INTROSPECT_URL = `${ORIGIN}/oauth2/introspect`;
export const REVOKE_URL = `${ORIGIN}/oauth2/revoke`;
export const USERINFO_URL = `${ORIGIN}/oauth2/userinfo`;

type Fetcher = (request: Request) => Promise<Response>;
const workerFetch: Fetcher = (request) => exports.default.fetch(request);

/** A grant: the client, the user (able to sign), and the tokens a code redemption gave. */
export type Grant = {
  client: TestClient;
  caller: Caller;
  user: TestUser;
  accessToken: string;
  refreshToken: string;
  scopes: string[];
};

/** A fresh client (or `client`), a consenting user of its owner's tenant (or `caller`) and a redeemed code. */
export async function grant(
  options: { client?: TestClient; caller?: Caller; scopes?: string[]; clientOverrides?: Record<string, unknown> } = {},
): Promise<Grant> {
  const client = options.client ?? (await newClient(options.clientOverrides));
  const caller = options.caller ?? newCaller("USER", client.owner.tenantId);
  const user = { userId: caller.userId, tenant: caller.tenantId };
  const scopes = options.scopes ?? ["files:read", "openid"];
  await consent(client.client_id, user, scopes);
  const tokens = await redeem(client, await codeFor(client.client_id, user, { scopes }));
  return {
    client,
    caller,
    user,
    accessToken: String(tokens.access_token),
    refreshToken: String(tokens.refresh_token),
    scopes,
  };
}

/** POST a form to `url`; `basic` adds client_secret_basic. */
export function postForm(
  url: string,
  form: Record<string, string>,
  options: { basic?: { id: string; secret: string }; fetcher?: Fetcher; headers?: Record<string, string> } = {},
): Promise<Response> {
  const headers = new Headers(options.headers);
  headers.set("content-type", "application/x-www-form-urlencoded");
  if (options.basic) headers.set("authorization", basicAuth(options.basic.id, options.basic.secret));
  const request = new Request(url, { method: "POST", headers, body: new URLSearchParams(form).toString() });
  return (options.fetcher ?? workerFetch)(request);
}

/** A bare, unauthenticated introspection (as DocSpace's .NET APIs send it); the parsed body (throws unless 200). */
export async function introspect(
  token: string,
  options: { fetcher?: Fetcher; url?: string; hint?: string } = {},
): Promise<Record<string, unknown>> {
  const form: Record<string, string> = { token };
  if (options.hint) form.token_type_hint = options.hint;
  const response = await postForm(options.url ?? INTROSPECT_URL, form, { fetcher: options.fetcher });
  if (response.status !== 200) throw new Error(`introspection answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as Record<string, unknown>;
}

/** Whether a bare introspection calls the token active (and, when not, that the answer is exactly `{"active":false}`). */
export async function isActive(token: string, options: { fetcher?: Fetcher; url?: string } = {}): Promise<boolean> {
  const body = await introspect(token, options);
  if (body.active === true) return true;
  if (JSON.stringify(body) !== '{"active":false}')
    throw new Error(`an inactive answer with more: ${JSON.stringify(body)}`);
  return false;
}

/** openid-client's configuration for `client` at this origin, through the worker. */
export function discover(client: TestClient, auth?: openid.ClientAuth): Promise<openid.Configuration> {
  const toWorker: openid.CustomFetch = (url, init) =>
    exports.default.fetch(new Request(url, init as RequestInit)) as ReturnType<openid.CustomFetch>;
  return openid.discovery(
    new URL(`${ORIGIN}/oauth2`),
    client.client_id,
    undefined,
    auth ?? openid.ClientSecretPost(client.client_secret),
    { execute: [openid.allowInsecureRequests], [openid.customFetch]: toWorker },
  );
}

/** Management calls that revoke: the client's owner (or the user, for revokeUserClient). */
export const manage = {
  deleteClient: (g: Grant) => call("DELETE", `/clients/${g.client.client_id}`, { caller: g.client.owner }),
  setEnabled: (g: Grant, status: boolean, revokeTokens = false) =>
    call("PATCH", `/clients/${g.client.client_id}/activation`, {
      caller: g.client.owner,
      body: revokeTokens ? { status, revoke_tokens: true } : { status },
    }),
  revokeAllTokens: (g: Grant) => call("DELETE", `/clients/${g.client.client_id}/tokens`, { caller: g.client.owner }),
  revokeUserClient: (g: Grant) => call("DELETE", `/clients/${g.client.client_id}/revoke`, { caller: g.caller }),
};
