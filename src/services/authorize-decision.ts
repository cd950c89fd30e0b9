import { inArray } from "drizzle-orm";
import type { Principal } from "../auth/principal";
import { issueCode } from "../authorization/codes";
import {
  consumePendingRequest,
  consumePendingRequestOfClient,
  createPendingRequest,
  type PendingRequestHandle,
} from "../authorization/pending-requests";
import { guardD1 } from "../db/errors";
import { type AuthorizationRequestRow, type ScopeRow, scopes as scopesTable } from "../db/schema";
import { authorizationResponseUrl } from "../lib/authorization-response";
import { HttpProblem } from "../lib/problem";
import { issuerFor } from "../tokens/issuer";
import type { ValidAuthorizationRequest } from "./authorize-request";
import { consentCovers, findConsent } from "./consent-coverage";
import type { ServiceDeps } from "./deps";
import { recordConsent } from "./token-lifecycle";

/**
 * The user's side of the authorization-code flow (AS §4 steps 5–8): reuse a stored consent or ask
 * for one, then act on the decision. Returns what to send back to the client as plain values; the
 * handler adds `iss` and builds the redirect.
 *
 * Failure story of "allow": the consent is written first, the code second. If the consent write
 * fails, nothing is issued (the error propagates, 503). If issuing the code fails after the consent
 * was recorded, the consent stays: it is the user's real decision, and the client's next request
 * gets a code at once without asking again. Either way the pending request is spent, so a retry
 * starts again at GET /oauth2/authorize.
 */

/** Parameters of the redirect back to the client, before `iss` (RFC 6749 §4.1.2, §4.1.2.1). */
export type AuthorizationResponse = { redirectUri: string; params: Record<string, string> };

/** The redirect URL of `response` from the authorization server at `origin`, with `iss` (RFC 9207). */
export function redirectUrlOf(response: AuthorizationResponse, origin: string): string {
  return authorizationResponseUrl(response.redirectUri, response.params, issuerFor(origin));
}

/** What GET /oauth2/authorize does for a signed-in user. */
export type AuthorizationStart =
  | { kind: "respond"; response: AuthorizationResponse }
  | { kind: "ask"; pending: PendingRequestHandle; scopes: ScopeRow[] };

/** The outcome of a consent decision. */
export type AuthorizationDecision =
  /** Unknown, expired, already used, wrong CSRF token, client or user: nothing changed. */
  | { kind: "unknown_request" }
  /** The client was deleted or disabled since the request: nothing was recorded or issued. */
  | { kind: "client_unavailable" }
  | { kind: "respond"; response: AuthorizationResponse };

/** What a code is issued for: the checked request (or the pending one), its user and the scopes granted. */
type CodeGrant = Pick<
  AuthorizationRequestRow,
  "clientId" | "tenant" | "userId" | "redirectUri" | "scopes" | "state" | "codeChallenge" | "nonce"
>;

/**
 * Issues the code and returns the redirect that carries it. `auth_time`, `name` and `email` of a later
 * ID token (AS §5.4) are the signature's, kept with the code.
 */
async function codeResponse(
  deps: ServiceDeps,
  user: AuthorizingUser,
  grant: CodeGrant,
): Promise<AuthorizationResponse> {
  const code = await issueCode(deps, {
    clientId: grant.clientId,
    tenant: grant.tenant,
    userId: grant.userId,
    redirectUri: grant.redirectUri,
    scopes: grant.scopes,
    codeChallenge: grant.codeChallenge,
    nonce: grant.nonce,
    authTime: user.issuedAt ?? deps.now,
    userName: user.userName ?? null,
    userEmail: user.userEmail ?? null,
  });
  return { redirectUri: grant.redirectUri, params: withState({ code }, grant.state) };
}

/** The signed-in user as the flow needs them. */
export type AuthorizingUser = Pick<Principal, "tenantId" | "userId" | "issuedAt"> &
  Partial<Pick<Principal, "userName" | "userEmail">>;

const withState = (params: Record<string, string>, state: string | null) =>
  state === null ? params : { ...params, state };

const denied = (redirectUri: string, state: string | null): AuthorizationResponse => ({
  redirectUri,
  params: withState({ error: "access_denied", error_description: "The user denied the request." }, state),
});

/**
 * Signed in (AS §4 step 5): when a stored consent of this (tenant, user, client) covers every
 * requested scope, or `openid` is the only scope, a code is issued at once; otherwise a pending
 * request is stored and the scopes to show are returned.
 */
export async function startAuthorization(
  deps: ServiceDeps,
  user: AuthorizingUser,
  request: ValidAuthorizationRequest,
): Promise<AuthorizationStart> {
  const clientId = request.client.clientId;
  if (await consentCovers(deps, { tenant: user.tenantId, userId: user.userId, clientId }, request.scopes)) {
    const response = await codeResponse(deps, user, {
      ...request,
      clientId,
      tenant: user.tenantId,
      userId: user.userId,
    });
    return { kind: "respond", response };
  }
  const [pending, scopes] = await Promise.all([
    createPendingRequest(deps, {
      clientId,
      tenant: user.tenantId,
      userId: user.userId,
      redirectUri: request.redirectUri,
      scopes: request.scopes,
      state: request.state,
      codeChallenge: request.codeChallenge,
      nonce: request.nonce,
    }),
    scopesNamed(deps, request.scopes),
  ]);
  return { kind: "ask", pending, scopes };
}

/** The scopes table's rows for `names`, in the order asked (a name without a row is left out). */
async function scopesNamed(deps: ServiceDeps, names: string[]): Promise<ScopeRow[]> {
  const rows = await guardD1(deps.db.select().from(scopesTable).where(inArray(scopesTable.name, names)));
  const byName = new Map(rows.map((row) => [row.name, row]));
  return names.flatMap((name) => byName.get(name) ?? []);
}

/**
 * The consent page's decision (browser form): the pending request is consumed only with its CSRF
 * token, by the user it was made for (one conditional UPDATE, AS §10). `allow` grants every
 * requested scope.
 */
export async function decideInBrowser(
  deps: ServiceDeps,
  user: AuthorizingUser,
  input: { requestId: string; csrfToken: string; allow: boolean },
): Promise<AuthorizationDecision> {
  const pending = await consumePendingRequest(deps, input.requestId, input.csrfToken, user.userId, user.tenantId);
  if (!pending) return { kind: "unknown_request" };
  return decide(deps, user, pending, input.allow ? pending.scopes : []);
}

/**
 * DocSpace's consent UI's decision: the pending id (the `client_state` cookie) and the client id,
 * by the user it was made for. `granted` is every `scope` field posted; none is a denial, and a
 * scope that was not requested answers `invalid_scope` (the request is spent either way).
 */
export async function decideInDocSpace(
  deps: ServiceDeps,
  user: AuthorizingUser,
  input: { requestId: string; clientId: string; granted: string[] },
): Promise<AuthorizationDecision> {
  const pending = await consumePendingRequestOfClient(
    deps,
    input.requestId,
    input.clientId.toLowerCase(),
    user.userId,
    user.tenantId,
  );
  if (!pending) return { kind: "unknown_request" };
  const requested = new Set(pending.scopes);
  const granted = [...new Set(input.granted.filter((s) => s !== ""))];
  const extra = granted.filter((s) => !requested.has(s));
  if (extra.length > 0) {
    return {
      kind: "respond",
      response: {
        redirectUri: pending.redirectUri,
        params: withState(
          {
            error: "invalid_scope",
            error_description: `Granted scope was not requested: ${extra.slice(0, 5).join(", ")}.`,
          },
          pending.state,
        ),
      },
    };
  }
  // Keep the order of the request, which the consent page showed.
  return decide(
    deps,
    user,
    pending,
    pending.scopes.filter((s) => granted.includes(s)),
  );
}

/** Denies when nothing is granted; else records the consent, then issues a code for exactly `granted`. */
async function decide(
  deps: ServiceDeps,
  user: AuthorizingUser,
  pending: AuthorizationRequestRow,
  granted: string[],
): Promise<AuthorizationDecision> {
  if (granted.length === 0) return { kind: "respond", response: denied(pending.redirectUri, pending.state) };
  if (!(await recordGrantedConsent(deps, pending, granted))) return { kind: "client_unavailable" };
  return { kind: "respond", response: await codeResponse(deps, user, { ...pending, scopes: granted }) };
}

/**
 * Records the consent through `recordConsent` (its INSERT … SELECT refuses a client deleted or
 * disabled since the request), merged with the scopes already consented to, so consenting to a new
 * scope never drops an older one. The merge reads, then writes: a concurrent decision of the same
 * user can at worst lose the other's extra scopes, which only means being asked again. False when
 * the client can no longer take consents; a store failure propagates (503) and nothing is issued.
 */
async function recordGrantedConsent(
  deps: ServiceDeps,
  pending: AuthorizationRequestRow,
  granted: string[],
): Promise<boolean> {
  const existing = await findConsent(deps, pending);
  const merged = [...new Set([...(existing ?? []), ...granted])];
  try {
    await recordConsent(deps, {
      client_id: pending.clientId,
      user_id: pending.userId,
      tenant_id: pending.tenant,
      scopes: merged,
    });
    return true;
  } catch (error) {
    // 404: deleted; 403: disabled; 400: the client no longer has one of the scopes.
    if (error instanceof HttpProblem && error.init.status < 500) return false;
    throw error;
  }
}
