import { and, asc, eq, type SQL, sql } from "drizzle-orm";
import type { Principal } from "../auth/principal";
import { revokeFamiliesStatement } from "../authorization/refresh-tokens";
import { guardD1 } from "../db/errors";
import { clientSecrets, clients, consents, refreshFamilies } from "../db/schema";
import { forbidden, HttpProblem, PROBLEM_TYPES } from "../lib/problem";
import { revokeThenChange } from "../revocation/protocol";
import { clientDeletedIntent } from "../revocation/revocations";
import { AUDIT_ACTIONS, auditClientEvents } from "./audit";
import { assertMayManageClients } from "./client-access";
import { auditContextOf, revocationStoreOf, type ServiceDeps } from "./deps";

/**
 * Bulk deletes of SPEC §4.14 (the caller's own clients) and §4.15 (the whole tenant).
 *
 * Shape of one request, whatever the number of clients:
 * 1. one indexed SELECT of the ids in scope (at most `maxClients`, oldest first);
 * 2. a client-wide revocation entry for every one of them, through `revokeThenChange` (fail
 *    closed: KV first, restored if D1 refuses);
 * 3. one atomic `db.batch` of four set-based statements (audit 9904, consents, secrets, clients)
 *    that name the ids through a single JSON parameter (`json_each`), so the statement count and
 *    bound parameters stay constant — D1 allows 100 bound parameters per statement.
 */

/**
 * Clients handled per request. Workers allow 1,000 KV operations per invocation; this leaves
 * room for the bulk reads (one per 100 keys) and for restoring every entry if D1 fails.
 */
export const MAX_CLIENTS_PER_BULK_DELETE = 450;

export type BulkDeleteOptions = {
  /** Overrides `MAX_CLIENTS_PER_BULK_DELETE` (tests exercise the limit with a small number). */
  maxClients?: number;
};

/** deleteClients (§4.14): every client the caller created in its tenant. ADMIN and USER. */
export async function deleteOwnClients(
  deps: ServiceDeps,
  principal: Principal,
  options: BulkDeleteOptions = {},
): Promise<number> {
  assertMayManageClients(principal);
  const scope = and(eq(clients.tenant, principal.tenantId), eq(clients.createdBy, principal.userId)) as SQL;
  return deleteClientsInScope(deps, principal, scope, options);
}

/** deleteTenantClients (§4.15): every client of the caller's tenant. ADMIN only. */
export async function deleteTenantClients(
  deps: ServiceDeps,
  principal: Principal,
  options: BulkDeleteOptions = {},
): Promise<number> {
  if (principal.role !== "ADMIN") throw forbidden("Only a tenant administrator may delete every client of the tenant.");
  return deleteClientsInScope(deps, principal, eq(clients.tenant, principal.tenantId), options);
}

/** Deletes the clients matched by `scope`; returns how many ids were revoked and deleted. */
async function deleteClientsInScope(
  deps: ServiceDeps,
  principal: Principal,
  scope: SQL,
  options: BulkDeleteOptions,
): Promise<number> {
  const maxClients = options.maxClients ?? MAX_CLIENTS_PER_BULK_DELETE;
  const { db } = deps;
  const found = await guardD1(
    db
      .select({ id: clients.clientId })
      .from(clients)
      .where(scope)
      .orderBy(asc(clients.createdOn), asc(clients.clientId))
      .limit(maxClients + 1)
      .all(),
  );
  const ids = found.slice(0, maxClients).map((row) => row.id);
  if (ids.length === 0) return 0;

  // One JSON parameter names every id: the revoked set, never more (a client created meanwhile
  // was not revoked, so it must not be deleted).
  const idSet = sql`(SELECT value FROM json_each(${JSON.stringify(ids)}))`;
  const inIdSet = (column: typeof clients.clientId | typeof consents.clientId | typeof clientSecrets.clientId) =>
    sql`${column} IN ${idSet}`;
  const doomed = and(scope, inIdSet(clients.clientId)) as SQL;
  await revokeThenChange(
    revocationStoreOf(deps),
    ids.map((id) => clientDeletedIntent(id, deps.now)),
    () =>
      guardD1(
        db.batch([
          // Audit first, while the rows exist: one 9904 event per client this batch really deletes.
          auditClientEvents(db, auditContextOf(principal, deps.request), AUDIT_ACTIONS.delete, doomed, deps.now),
          db.delete(consents).where(inIdSet(consents.clientId)),
          // Refresh families have no foreign key to the client: revoked, not deleted (AS §8).
          revokeFamiliesStatement(db, sql`${refreshFamilies.clientId} IN ${idSet}`, "client_deleted", deps.now),
          db.delete(clientSecrets).where(inIdSet(clientSecrets.clientId)),
          db.delete(clients).where(doomed),
        ]),
      ),
    "The revocation list could not be written; nothing was deleted.",
  );
  if (found.length > maxClients) {
    // Consistent so far (every deleted client is revoked), but not finished: say so, retryably.
    throw new HttpProblem({
      status: 503,
      type: PROBLEM_TYPES.unavailable,
      detail: `Deleted ${ids.length} clients; more remain. Repeat the request to delete the rest.`,
      headers: { "retry-after": "1" },
    });
  }
  return ids.length;
}
