import { and, eq } from "drizzle-orm";
import type { Principal } from "../auth/principal";
import { familiesOf, revokeFamiliesStatement } from "../authorization/refresh-tokens";
import type { Database } from "../db/client";
import { guardD1 } from "../db/errors";
import { type ClientRow, clientSecrets, clients, consents, refreshFamilies, scopes } from "../db/schema";
import { describeError } from "../lib/describe-error";
import { clientNotFound, validationFailed } from "../lib/problem";
import { clearClientDisabled, revokeThenChange } from "../revocation/protocol";
import {
  clientDeletedIntent,
  clientDisabledIntent,
  consentRevokedIntent,
  tokensRevokedIntent,
} from "../revocation/revocations";
import type { CreateClientInput, UpdateClientInput } from "../schemas/clients";
import { AUDIT_ACTIONS, auditClientEvents } from "./audit";
import { assertMayManageClients, findManageableClient, wellFormedClientId } from "./client-access";
import { auditContextOf, revocationStoreOf, type ServiceDeps } from "./deps";
import { generateClientSecret, hashClientSecret } from "./secrets";

/**
 * The client-management use cases of SPEC §4.1–§4.6 (regenerate lives in secret-rotation.ts, the
 * bulk deletes in bulk-delete.ts). Each takes plain inputs and returns rows; every multi-statement
 * write is one `db.batch`, and every revocation goes through `revokeThenChange`.
 */

async function assertScopesExist(db: Database, requested: string[]): Promise<void> {
  const known = new Set((await guardD1(db.select({ name: scopes.name }).from(scopes).all())).map((s) => s.name));
  const unknown = requested.filter((s) => !known.has(s));
  if (unknown.length > 0) {
    throw validationFailed([
      { field: "scopes", code: "ErrorInvalidScope", message: `unknown scope: ${unknown.slice(0, 5).join(", ")}` },
    ]);
  }
}

/** Creates a client with a fresh secret; the client, its secret hash and the audit event land in one batch. */
export async function createClient(
  deps: ServiceDeps,
  principal: Principal,
  input: CreateClientInput,
): Promise<{ client: ClientRow; secret: string }> {
  assertMayManageClients(principal);
  await assertScopesExist(deps.db, input.scopes);
  const secret = generateClientSecret();
  const row: ClientRow = {
    clientId: crypto.randomUUID(),
    tenant: principal.tenantId,
    name: input.name,
    description: input.description ?? null,
    logo: input.logo ?? null,
    websiteUrl: input.website_url ?? null,
    termsUrl: input.terms_url ?? null,
    policyUrl: input.policy_url ?? null,
    logoutRedirectUri: input.logout_redirect_uri ?? null,
    redirectUris: input.redirect_uris,
    allowedOrigins: input.allowed_origins,
    scopes: input.scopes,
    enabled: true,
    // DocSpace ignores the requested value: every client is public.
    isPublic: true,
    allowPkce: input.allow_pkce ?? false,
    createdOn: deps.now,
    createdBy: principal.userId,
    modifiedOn: deps.now,
    modifiedBy: principal.userId,
  };
  const hash = await hashClientSecret(secret, deps.pepper);
  const { db } = deps;
  await guardD1(
    db.batch([
      db.insert(clients).values(row),
      db.insert(clientSecrets).values({ clientId: row.clientId, hash, createdOn: deps.now, expiresOn: null }),
      auditClientEvents(db, auditContextOf(principal, deps.request), AUDIT_ACTIONS.create, row.clientId, deps.now),
    ]),
  );
  return { client: row, secret };
}

/**
 * Replaces the editable fields of SPEC §4.2: name and origins always; description and logo
 * only when present (null clears); allow_pkce defaults to false as DocSpace does.
 */
export async function updateClient(
  deps: ServiceDeps,
  principal: Principal,
  clientId: string,
  input: UpdateClientInput,
): Promise<ClientRow> {
  const current = await findManageableClient(deps.db, principal, clientId);
  const changes = {
    name: input.name,
    allowedOrigins: input.allowed_origins,
    allowPkce: input.allow_pkce ?? false,
    ...(input.description === undefined ? {} : { description: input.description }),
    ...(input.logo === undefined ? {} : { logo: input.logo }),
    modifiedOn: deps.now,
    modifiedBy: principal.userId,
  };
  const { db } = deps;
  const [updated] = await guardD1(
    db.batch([
      db.update(clients).set(changes).where(eq(clients.clientId, current.clientId)).returning(),
      auditClientEvents(db, auditContextOf(principal, deps.request), AUDIT_ACTIONS.update, current.clientId, deps.now),
    ]),
  );
  // Deleted between the read and the write: nothing was changed.
  if (!updated[0]) throw clientNotFound();
  return updated[0];
}

/**
 * Hard-deletes a client and everything hanging off it (SPEC §4.3). Every token issued to it is
 * revoked first; if D1 then refuses, the revocation is put back, so nothing is half-applied.
 */
export async function deleteClient(deps: ServiceDeps, principal: Principal, clientId: string): Promise<void> {
  const { clientId: id } = await findManageableClient(deps.db, principal, clientId);
  const { db } = deps;
  await revokeThenChange(revocationStoreOf(deps), [clientDeletedIntent(id, deps.now)], () =>
    guardD1(
      db.batch([
        // Audit first, while the row exists.
        auditClientEvents(db, auditContextOf(principal, deps.request), AUDIT_ACTIONS.delete, id, deps.now),
        db.delete(consents).where(eq(consents.clientId, id)),
        // Refresh families have no foreign key to the client: they are revoked, not deleted (AS §8).
        revokeFamiliesStatement(db, familiesOf({ clientId: id }), "client_deleted", deps.now),
        db.delete(clientSecrets).where(eq(clientSecrets.clientId, id)),
        db.delete(clients).where(eq(clients.clientId, id)),
      ]),
    ),
  );
}

/**
 * Enables or disables a client (SPEC §4.5). Disabling writes `revoked:disabled:{id}` to KV before
 * D1 (fail closed: if KV fails, nothing changes and the caller gets 503), so that its tokens stop
 * introspecting as active at once; enabling clears it after D1 (`clearClientDisabled`); then either
 * side reconciles the entry with D1 (`reconcileDisabledEntry`). Tokens that
 * were not revoked come back with the client (DocSpace's documented contract) unless `revokeTokens`
 * is set: then every token issued so far is revoked too, before the change, and stays revoked.
 */
export async function changeActivation(
  deps: ServiceDeps,
  principal: Principal,
  clientId: string,
  enabled: boolean,
  revokeTokens = false,
): Promise<void> {
  const { clientId: id } = await findManageableClient(deps.db, principal, clientId);
  const { db } = deps;
  // Disabling is written to KV first (introspection reads KV only, AS §7); enabling clears it after D1.
  const intents = [
    ...(enabled ? [] : [clientDisabledIntent(id, deps.now)]),
    ...(revokeTokens ? [tokensRevokedIntent(id, deps.now)] : []),
  ];
  const update = db
    .update(clients)
    .set({ enabled, modifiedOn: deps.now, modifiedBy: principal.userId })
    .where(eq(clients.clientId, id));
  const audit = auditClientEvents(db, auditContextOf(principal, deps.request), AUDIT_ACTIONS.activation, id, deps.now);
  await revokeThenChange(revocationStoreOf(deps), intents, async () => {
    if (revokeTokens) {
      // With the client's refresh families, in the same batch: they stop with the change or not at all (AS §8).
      const families = revokeFamiliesStatement(db, familiesOf({ clientId: id }), "tokens_revoked", deps.now);
      await guardD1(db.batch([update, audit, families]));
    } else {
      await guardD1(db.batch([update, audit]));
    }
  });
  if (enabled) await clearClientDisabled(revocationStoreOf(deps), id);
  await reconcileDisabledEntry(deps, id);
}

/**
 * After an activation change: if D1 now says disabled, make sure `revoked:disabled:` is recorded.
 * A disable and an enable racing can interleave as disable's KV write → enable's D1 write and
 * clear → disable's D1 write, which would leave the client disabled in D1 but enabled to
 * introspection. Both sides re-read D1 after their own writes and the later of them records the
 * entry again (its ledger orders that write after the clear), so the unsafe state cannot remain;
 * the opposite one (enabled in D1, the entry present) fails closed and enabling again repairs it.
 * Best effort: the change itself was committed, so a failure here is logged, not answered.
 */
async function reconcileDisabledEntry(deps: ServiceDeps, id: string): Promise<void> {
  try {
    const row = await deps.db.select({ enabled: clients.enabled }).from(clients).where(eq(clients.clientId, id)).get();
    if (row && !row.enabled) {
      await revokeThenChange(revocationStoreOf(deps), [clientDisabledIntent(id, deps.now)], async () => undefined);
    }
  } catch (error) {
    console.error(
      JSON.stringify({
        level: "error",
        msg: "activation: the disabled entry could not be reconciled with D1",
        client_id: id,
        request_id: deps.request.requestId,
        error: describeError(error),
      }),
    );
  }
}

/**
 * Revokes every token issued to a client so far without deleting it (ADMIN of the tenant, USER
 * own). The revocation entry is written first; if the audit batch then fails it is put back.
 */
export async function revokeClientTokens(deps: ServiceDeps, principal: Principal, clientId: string): Promise<void> {
  const { clientId: id } = await findManageableClient(deps.db, principal, clientId);
  const { db } = deps;
  await revokeThenChange(revocationStoreOf(deps), [tokensRevokedIntent(id, deps.now)], () =>
    guardD1(
      db.batch([
        auditClientEvents(db, auditContextOf(principal, deps.request), AUDIT_ACTIONS.revokeTokens, id, deps.now),
        revokeFamiliesStatement(db, familiesOf({ clientId: id }), "tokens_revoked", deps.now),
      ]),
    ),
  );
}

/**
 * Removes the caller's consent for a client and revokes every token issued to this client for
 * this user (SPEC §4.6). Idempotent: an unknown but well-formed client id is a quiet success,
 * and no revocation entry is written for a client that does not exist.
 */
export async function revokeConsent(deps: ServiceDeps, principal: Principal, clientId: string): Promise<void> {
  const id = wellFormedClientId(clientId);
  const { db } = deps;
  const exists = await guardD1(db.select({ id: clients.clientId }).from(clients).where(eq(clients.clientId, id)).get());
  if (!exists) return;
  await revokeThenChange(revocationStoreOf(deps), [consentRevokedIntent(id, principal.userId, deps.now)], () =>
    guardD1(
      db.batch([
        db
          .delete(consents)
          .where(
            and(
              eq(consents.tenant, principal.tenantId),
              eq(consents.userId, principal.userId),
              eq(consents.clientId, id),
            ),
          ),
        revokeFamiliesStatement(
          db,
          and(familiesOf({ clientId: id, userId: principal.userId }), eq(refreshFamilies.tenant, principal.tenantId)),
          "consent_revoked",
          deps.now,
        ),
        auditClientEvents(db, auditContextOf(principal, deps.request), AUDIT_ACTIONS.revoke, id, deps.now),
      ]),
    ),
  );
}
