import { and, asc, eq, type SQL, sql } from "drizzle-orm";
import type { Principal } from "../auth/principal";
import { auditEvents, clientSecrets, clients, consents } from "../db/schema";
import { forbidden, HttpProblem, PROBLEM_TYPES, unavailable } from "../lib/problem";
import {
  clientRevocationKey,
  mergeRevocation,
  type RevocationWrite,
  restoreRevocations,
} from "../revocation/revocations";
import { AUDIT_ACTIONS } from "./audit";
import { assertMayManageClients, type ClientServiceDeps } from "./clients";
import { guardD1 } from "./storage-errors";

/**
 * Bulk deletes of SPEC §4.14 (the caller's own clients) and §4.15 (the whole tenant).
 *
 * Shape of one request, whatever the number of clients:
 * 1. one indexed SELECT of the ids in scope (at most `maxClients`, oldest first);
 * 2. client-wide revocation entries for every one of them (SPEC §9, fail closed): previous values
 *    read with KV bulk gets (100 keys per call), then one put per key with bounded concurrency;
 * 3. one atomic `db.batch` of four set-based statements (audit 9904, consents, secrets, clients)
 *    that name the ids through a single JSON parameter (`json_each`), so the statement count and
 *    bound parameters stay constant — D1 allows 100 bound parameters per statement.
 * If D1 refuses step 3, the entries of step 2 are put back, so nothing is half-applied.
 */

/**
 * Clients handled per request. Workers allow 1,000 KV operations per invocation; this leaves
 * room for the bulk reads (one per 100 keys) and for restoring every entry if D1 fails.
 */
export const MAX_CLIENTS_PER_BULK_DELETE = 450;
const KV_BULK_GET_KEYS = 100;
const KV_PUT_CONCURRENCY = 8;

export type BulkDeleteOptions = {
  /** Overrides `MAX_CLIENTS_PER_BULK_DELETE` (tests exercise the limit with a small number). */
  maxClients?: number;
};

/** deleteClients (§4.14): every client the caller created in its tenant. ADMIN and USER. */
export async function deleteOwnClients(
  deps: ClientServiceDeps,
  principal: Principal,
  options: BulkDeleteOptions = {},
): Promise<number> {
  assertMayManageClients(principal);
  const scope = and(eq(clients.tenant, principal.tenantId), eq(clients.createdBy, principal.userId));
  return deleteClientsInScope(deps, scope as SQL, options);
}

/** deleteTenantClients (§4.15): every client of the caller's tenant. ADMIN only. */
export async function deleteTenantClients(
  deps: ClientServiceDeps,
  principal: Principal,
  options: BulkDeleteOptions = {},
): Promise<number> {
  if (principal.role !== "ADMIN") throw forbidden("Only a tenant administrator may delete every client of the tenant.");
  return deleteClientsInScope(deps, eq(clients.tenant, principal.tenantId), options);
}

/** Deletes the clients matched by `scope`; returns how many ids were revoked and deleted. */
async function deleteClientsInScope(deps: ClientServiceDeps, scope: SQL, options: BulkDeleteOptions): Promise<number> {
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

  const writes = await writeClientRevocations(deps, ids);
  // One JSON parameter names every id: the revoked set, never more (a client created meanwhile
  // was not revoked, so it must not be deleted).
  const idSet = sql`(SELECT value FROM json_each(${JSON.stringify(ids)}))`;
  const inIdSet = (column: typeof clients.clientId | typeof consents.clientId | typeof clientSecrets.clientId) =>
    sql`${column} IN ${idSet}`;
  const audit = deps.audit;
  try {
    await guardD1(
      db.batch([
        // Audit first, while the rows exist: one 9904 event per client this batch really deletes.
        db.insert(auditEvents).select((qb) =>
          qb
            .select({
              id: sql<number>`NULL`.as("id"),
              tenant: clients.tenant,
              userId: sql<string>`${audit.userId}`.as("user_id"),
              clientId: clients.clientId,
              action: sql<number>`${AUDIT_ACTIONS.delete}`.as("action"),
              occurredOn: sql<number>`${deps.now}`.as("occurred_on"),
              ip: sql<string | null>`${audit.ip}`.as("ip"),
              userAgent: sql<string | null>`${audit.userAgent}`.as("user_agent"),
              requestId: sql<string>`${audit.requestId}`.as("request_id"),
            })
            .from(clients)
            .where(and(scope, inIdSet(clients.clientId))),
        ),
        db.delete(consents).where(inIdSet(consents.clientId)),
        db.delete(clientSecrets).where(inIdSet(clientSecrets.clientId)),
        db.delete(clients).where(and(scope, inIdSet(clients.clientId))),
      ]),
    );
  } catch (error) {
    await restoreRevocations(deps.kv, writes, deps.revocationTtlSeconds);
    throw error;
  }
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

/**
 * Writes a client-wide entry for every id before anything is deleted (fail closed). An existing
 * entry is never weakened. On any KV failure the entries already attempted are put back and the
 * caller gets 503 with nothing deleted.
 */
async function writeClientRevocations(deps: ClientServiceDeps, ids: string[]): Promise<RevocationWrite[]> {
  const { kv } = deps;
  const revokedBefore = Math.floor(deps.now / 1000);
  const keys = ids.map(clientRevocationKey);
  const attempted: RevocationWrite[] = [];
  try {
    const previous = new Map<string, string | null>();
    for (let i = 0; i < keys.length; i += KV_BULK_GET_KEYS) {
      const chunk = keys.slice(i, i + KV_BULK_GET_KEYS);
      for (const [key, value] of await kv.get(chunk, "text")) previous.set(key, value);
    }
    let next = 0;
    let failed: unknown;
    const worker = async () => {
      while (failed === undefined && next < keys.length) {
        const key = keys[next++] as string;
        const prior = previous.get(key) ?? null;
        const value = JSON.stringify(
          mergeRevocation(prior, { revoked_before: revokedBefore, reason: "client_deleted" }),
        );
        attempted.push({ key, previous: prior, written: value });
        try {
          await kv.put(key, value, { expirationTtl: deps.revocationTtlSeconds });
        } catch (error) {
          failed ??= error;
        }
      }
    };
    // Settle every in-flight put before judging, so the restore below sees all of them.
    await Promise.all(Array.from({ length: Math.min(KV_PUT_CONCURRENCY, keys.length) }, worker));
    if (failed !== undefined) throw failed;
  } catch (error) {
    await restoreRevocations(kv, attempted, deps.revocationTtlSeconds);
    throw unavailable("The revocation list could not be written; nothing was deleted.", error);
  }
  return attempted;
}
