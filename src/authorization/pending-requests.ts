import { and, eq, gt, isNull, type SQL } from "drizzle-orm";
import { guardD1 } from "../db/errors";
import { type AuthorizationRequestRow, authorizationRequests } from "../db/schema";
import type { AuthorizationDeps } from "./deps";
import { PENDING_REQUEST_TTL_MS } from "./settings";
import { hashToken, randomToken } from "./tokens";

/**
 * Pending authorization requests (AS §4 steps 7–8): what GET /oauth2/authorize validated, kept in
 * D1 until the user's decision, at most 10 minutes, consumed once. Table: docs/storage.md.
 */

/** The validated request the consent decision will act on. */
export type PendingRequestInput = {
  clientId: string;
  tenant: number;
  userId: string;
  redirectUri: string;
  scopes: string[];
  state: string | null;
  codeChallenge: string | null;
  nonce: string | null;
};

/** A stored pending request: its id and the CSRF token bound to it (returned this once, stored hashed). */
export type PendingRequestHandle = { id: string; csrfToken: string; expiresOn: number };

/** Stores a pending request for `PENDING_REQUEST_TTL_MS`; the id and CSRF token go into the consent form. */
export async function createPendingRequest(
  deps: AuthorizationDeps,
  input: PendingRequestInput,
): Promise<PendingRequestHandle> {
  const id = randomToken();
  const csrfToken = randomToken();
  const expiresOn = deps.now + PENDING_REQUEST_TTL_MS;
  await guardD1(
    deps.db.insert(authorizationRequests).values({
      id,
      csrfHash: await hashToken(csrfToken),
      ...input,
      createdOn: deps.now,
      expiresOn,
      consumedOn: null,
    }),
  );
  return { id, csrfToken, expiresOn };
}

/**
 * Consumes a pending request for the user's decision, exactly once: one conditional UPDATE that
 * matches only an unconsumed, unexpired request of this user with this CSRF token (AS §10). The
 * CSRF token is compared as a hash inside that statement, so no comparison in this process depends
 * on the secret's bytes. Returns the request, or null when any condition fails — then nothing
 * changed, and the rightful user can still decide.
 */
export async function consumePendingRequest(
  deps: AuthorizationDeps,
  id: string,
  csrfToken: string,
  userId: string,
  tenant?: number,
): Promise<AuthorizationRequestRow | null> {
  return consumeWhere(deps, id, userId, eq(authorizationRequests.csrfHash, await hashToken(csrfToken)), tenant);
}

/**
 * Consumes a pending request for DocSpace's consent UI (AS §4 step 8), which posts the pending id
 * (as `state`, from the `client_state` cookie) and `client_id` but no CSRF token: there the id,
 * 256 random bits only ever sent to the user's browser, is the proof that the post belongs to this
 * request. Same single-use UPDATE as `consumePendingRequest`, matching the client instead of the
 * CSRF token; null, changing nothing, when anything differs.
 */
export async function consumePendingRequestOfClient(
  deps: AuthorizationDeps,
  id: string,
  clientId: string,
  userId: string,
  tenant?: number,
): Promise<AuthorizationRequestRow | null> {
  return consumeWhere(deps, id, userId, eq(authorizationRequests.clientId, clientId), tenant);
}

/**
 * The single-use UPDATE both consumers share: an unconsumed, unexpired request of this id and user
 * that also meets `proof` (the CSRF token's hash, or the client) is marked consumed and returned;
 * with `tenant`, only a request made in that tenant (a user id alone does not name one tenant's user).
 */
async function consumeWhere(
  deps: AuthorizationDeps,
  id: string,
  userId: string,
  proof: SQL,
  tenant?: number,
): Promise<AuthorizationRequestRow | null> {
  const [row] = await guardD1(
    deps.db
      .update(authorizationRequests)
      .set({ consumedOn: deps.now })
      .where(
        and(
          eq(authorizationRequests.id, id),
          proof,
          eq(authorizationRequests.userId, userId),
          tenant === undefined ? undefined : eq(authorizationRequests.tenant, tenant),
          isNull(authorizationRequests.consumedOn),
          gt(authorizationRequests.expiresOn, deps.now),
        ),
      )
      .returning(),
  );
  return row ?? null;
}
