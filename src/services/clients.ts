import { and, eq } from "drizzle-orm";
import { canManageClient, type Principal } from "../auth/principal";
import type { Database } from "../db/client";
import { type ClientRow, clientSecrets, clients, consents, scopes } from "../db/schema";
import { GUID_PATTERN } from "../lib/ids";
import { clientNotFound, forbidden, validationFailed } from "../lib/problem";
import {
  clientRevocationKey,
  consentRevocationKey,
  type RevocationEntry,
  type RevocationWrite,
  restoreRevocations,
  writeRevocations,
} from "../revocation/revocations";
import type { ClientResponse, CreateClientInput, UpdateClientInput } from "../schemas/clients";
import { AUDIT_ACTIONS, type AuditContext, auditInsert, auditInsertIfClientExists } from "./audit";
import {
  concurrentRotation,
  isMissingClient,
  isSecretConflict,
  MAX_PREVIOUS_SECRETS,
  type RotationState,
  rotationStateColumns,
  rotationStatements,
  tooManyPreviousSecrets,
} from "./secret-rotation";
import { generateClientSecret, hashClientSecret } from "./secrets";
import { guardD1 } from "./storage-errors";

/** Everything a client operation needs, passed in so the rules can run without HTTP. */
export type ClientServiceDeps = {
  db: Database;
  kv: KVNamespace;
  /** Milliseconds since the epoch. */
  now: number;
  pepper: string;
  revocationTtlSeconds: number;
  audit: AuditContext;
};

/** Renders a stored client in DocSpace's ClientResponse shape; `secret` only on create. */
export function toClientResponse(row: ClientRow, secret?: string): ClientResponse {
  return {
    client_id: row.clientId,
    ...(secret === undefined ? {} : { client_secret: secret }),
    name: row.name,
    description: row.description,
    tenant: row.tenant,
    scopes: row.scopes,
    enabled: row.enabled,
    website_url: row.websiteUrl,
    terms_url: row.termsUrl,
    policy_url: row.policyUrl,
    logo: row.logo,
    authentication_methods: row.allowPkce ? ["client_secret_post", "none"] : ["client_secret_post"],
    redirect_uris: row.redirectUris,
    allowed_origins: row.allowedOrigins,
    logout_redirect_uris: row.logoutRedirectUri ? [row.logoutRedirectUri] : [],
    created_on: new Date(row.createdOn).toISOString(),
    created_by: row.createdBy,
    modified_on: new Date(row.modifiedOn).toISOString(),
    modified_by: row.modifiedBy,
    is_public: row.isPublic,
    allow_pkce: row.allowPkce,
  };
}

/** ADMIN and USER manage clients; GUEST is refused before any lookup (SPEC §4). */
export function assertMayManageClients(principal: Principal): void {
  if (principal.role === "GUEST") throw forbidden();
}

/**
 * The client the caller may manage, or a 404 that looks the same whether the client does not
 * exist, belongs to another user or another tenant, or the id is malformed (no existence leak).
 */
export async function findManageableClient(db: Database, principal: Principal, clientId: string): Promise<ClientRow> {
  const id = manageableClientId(principal, clientId);
  const row = await guardD1(db.select().from(clients).where(eq(clients.clientId, id)).get());
  if (!row || !canManageClient(principal, row)) throw clientNotFound();
  return row;
}

/** The lookup key of a client the caller may try to manage; refuses GUEST (403) and a malformed id (404). */
function manageableClientId(principal: Principal, clientId: string): string {
  assertMayManageClients(principal);
  if (!GUID_PATTERN.test(clientId)) throw clientNotFound();
  return clientId.toLowerCase();
}

/** As `findManageableClient`, with the state of the client's secrets read in the same statement. */
async function findClientForRotation(
  db: Database,
  principal: Principal,
  clientId: string,
  now: number,
): Promise<{ client: ClientRow } & RotationState> {
  const id = manageableClientId(principal, clientId);
  const row = await guardD1(
    db
      .select({ client: clients, ...rotationStateColumns(now) })
      .from(clients)
      .where(eq(clients.clientId, id))
      .get(),
  );
  if (!row || !canManageClient(principal, row.client)) throw clientNotFound();
  return row;
}

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
  deps: ClientServiceDeps,
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
      auditInsert(db, deps.audit, AUDIT_ACTIONS.create, row.clientId, deps.now),
    ]),
  );
  return { client: row, secret };
}

/**
 * Replaces the editable fields of SPEC §4.2: name and origins always; description and logo
 * only when present (null clears); allow_pkce defaults to false as DocSpace does.
 */
export async function updateClient(
  deps: ClientServiceDeps,
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
      auditInsertIfClientExists(db, deps.audit, AUDIT_ACTIONS.update, current.clientId, deps.now),
    ]),
  );
  // Deleted between the read and the write: nothing was changed.
  if (!updated[0]) throw clientNotFound();
  return updated[0];
}

/**
 * Hard-deletes a client and everything hanging off it. The client-wide revocation entry is
 * written first; if D1 then refuses, the entry is put back so nothing is half-applied.
 */
export async function deleteClient(deps: ClientServiceDeps, principal: Principal, clientId: string): Promise<void> {
  const client = await findManageableClient(deps.db, principal, clientId);
  await deleteClientsWithRevocation(deps, [client.clientId], AUDIT_ACTIONS.delete);
}

/**
 * Revokes every token of the given clients, then deletes them with their secrets and consents
 * in one batch. Shared by single and bulk deletes.
 */
export async function deleteClientsWithRevocation(
  deps: ClientServiceDeps,
  clientIds: string[],
  action: typeof AUDIT_ACTIONS.delete,
): Promise<void> {
  if (clientIds.length === 0) return;
  const revokedBefore = Math.floor(deps.now / 1000);
  const writes = await writeRevocations(
    deps.kv,
    clientIds.map((id) => ({
      key: clientRevocationKey(id),
      entry: { revoked_before: revokedBefore, reason: "client_deleted" },
    })),
    deps.revocationTtlSeconds,
  );
  const { db } = deps;
  const statements = clientIds.flatMap((id) => [
    db.delete(consents).where(eq(consents.clientId, id)),
    db.delete(clientSecrets).where(eq(clientSecrets.clientId, id)),
    db.delete(clients).where(eq(clients.clientId, id)),
    auditInsert(db, deps.audit, action, id, deps.now),
  ]);
  await batchOrRestore(deps, writes, statements);
}

type BatchItems = Parameters<Database["batch"]>[0];

/**
 * Runs a D1 batch after revocation entries were written; if D1 refuses, the entries are put back
 * and the caller gets a 503 with nothing half-applied.
 */
export async function batchOrRestore(
  deps: ClientServiceDeps,
  writes: RevocationWrite[],
  statements: unknown[],
): Promise<void> {
  try {
    await guardD1(deps.db.batch(statements as unknown as BatchItems));
  } catch (error) {
    await restoreRevocations(deps.kv, writes, deps.revocationTtlSeconds);
    throw error;
  }
}

/** The client-wide "every token issued so far is revoked" entry (revoke-all, disable with revoke_tokens). */
export function tokensRevokedEntry(clientId: string, now: number): { key: string; entry: RevocationEntry } {
  return {
    key: clientRevocationKey(clientId),
    entry: { revoked_before: Math.floor(now / 1000), reason: "tokens_revoked" },
  };
}

/**
 * Issues a new secret. With grace 0 (the default) the old one stops authenticating at once
 * (DocSpace's behaviour); with a grace period it keeps authenticating until `now + grace`, and
 * that expiry is returned. At most five previous secrets may be live at once (409 otherwise);
 * expired previous secrets are purged in the same batch. See services/secret-rotation.ts.
 */
export async function regenerateSecret(
  deps: ClientServiceDeps,
  principal: Principal,
  clientId: string,
  gracePeriodSeconds = 0,
): Promise<{ secret: string; previousSecretExpiresAt: number | null }> {
  const { db } = deps;
  const graceful = gracePeriodSeconds > 0;
  const { client, currentSecretId, livePrevious, earliestLiveExpiry } = await findClientForRotation(
    db,
    principal,
    clientId,
    deps.now,
  );
  if (graceful && livePrevious >= MAX_PREVIOUS_SECRETS) throw tooManyPreviousSecrets(earliestLiveExpiry);
  const secret = generateClientSecret();
  const hash = await hashClientSecret(secret, deps.pepper);
  try {
    await db.batch([
      ...rotationStatements(db, client.clientId, hash, deps.now, gracePeriodSeconds, currentSecretId ?? undefined),
      db
        .update(clients)
        .set({ modifiedOn: deps.now, modifiedBy: principal.userId })
        .where(eq(clients.clientId, client.clientId)),
      auditInsert(db, deps.audit, AUDIT_ACTIONS.regenerate, client.clientId, deps.now),
    ]);
  } catch (error) {
    // Deleted between our read and our batch: nothing was changed, and the client is gone.
    if (isMissingClient(error)) throw clientNotFound();
    if (isSecretConflict(error)) {
      // Either a concurrent rotation retired the secret we read, or (with a grace period) it filled
      // the last previous-secret slot. Either way nothing was changed; a fresh read tells which.
      const now = await findClientForRotation(db, principal, clientId, deps.now);
      if (graceful && now.livePrevious >= MAX_PREVIOUS_SECRETS) throw tooManyPreviousSecrets(now.earliestLiveExpiry);
      throw concurrentRotation();
    }
    return guardD1(Promise.reject(error));
  }
  return { secret, previousSecretExpiresAt: gracePeriodSeconds > 0 ? deps.now + gracePeriodSeconds * 1000 : null };
}

/**
 * Enables or disables a client. Existing tokens stay valid (DocSpace's documented contract) unless
 * `revokeTokens` is set: then every token issued so far is revoked too, the revocation entry
 * written before the change (fail closed: if KV fails, nothing changes and the caller gets 503).
 */
export async function changeActivation(
  deps: ClientServiceDeps,
  principal: Principal,
  clientId: string,
  enabled: boolean,
  revokeTokens = false,
): Promise<void> {
  const client = await findManageableClient(deps.db, principal, clientId);
  const { db } = deps;
  const writes = revokeTokens
    ? await writeRevocations(deps.kv, [tokensRevokedEntry(client.clientId, deps.now)], deps.revocationTtlSeconds)
    : [];
  await batchOrRestore(deps, writes, [
    db
      .update(clients)
      .set({ enabled, modifiedOn: deps.now, modifiedBy: principal.userId })
      .where(eq(clients.clientId, client.clientId)),
    auditInsertIfClientExists(db, deps.audit, AUDIT_ACTIONS.activation, client.clientId, deps.now),
  ]);
}

/**
 * Removes the caller's consent for a client and revokes every token issued to this client for
 * this user (SPEC §4.6). Idempotent: an unknown but well-formed client id is a quiet success,
 * and no revocation entry is written for a client that does not exist.
 */
export async function revokeConsent(deps: ClientServiceDeps, principal: Principal, clientId: string): Promise<void> {
  if (!GUID_PATTERN.test(clientId)) throw clientNotFound();
  const id = clientId.toLowerCase();
  const { db } = deps;
  const exists = await guardD1(db.select({ id: clients.clientId }).from(clients).where(eq(clients.clientId, id)).get());
  if (!exists) return;
  const writes = await writeRevocations(
    deps.kv,
    [
      {
        key: consentRevocationKey(id, principal.userId),
        entry: { revoked_before: Math.floor(deps.now / 1000), reason: "consent_revoked" },
      },
    ],
    deps.revocationTtlSeconds,
  );
  await batchOrRestore(deps, writes, [
    db
      .delete(consents)
      .where(
        and(eq(consents.tenant, principal.tenantId), eq(consents.userId, principal.userId), eq(consents.clientId, id)),
      ),
    auditInsert(db, deps.audit, AUDIT_ACTIONS.revoke, id, deps.now),
  ]);
}
