import { type AnyColumn, and, desc, eq, lt, type SQL, sql } from "drizzle-orm";
import type { Principal } from "../auth/principal";
import type { Database } from "../db/client";
import { guardD1 } from "../db/errors";
import { tableRowDecoder } from "../db/row-decoder";
import { type ClientRow, type ConsentRow, clients, consents, type ScopeRow, scopes } from "../db/schema";
import { clientNotFound } from "../lib/problem";
import type { KeysetCursor, RowPage } from "../schemas/pagination";
import { assertMayManageClients, findManageableClient, wellFormedClientId } from "./client-access";

/**
 * The read side of SPEC §4.7–§4.13, returning rows (handlers present them). Lists are keyset pages
 * in newest-first order with the id as tie-breaker; each query is an index range scan (see
 * docs/pagination.md for the query plans).
 */

/** getClient / getClientInfo (§4.7, §4.9): a client the caller may manage. */
export const getManageableClient = findManageableClient;

/**
 * getPublicClientInfo (§4.11): any tenant, enabled or not, no caller — the consent screen shows
 * it before anyone is signed in. The handler presents only ClientInfoResponse's public fields.
 */
export async function getPublicClient(db: Database, clientId: string): Promise<ClientRow> {
  const id = wellFormedClientId(clientId);
  const row = await guardD1(db.select().from(clients).where(eq(clients.clientId, id)).get());
  if (!row) throw clientNotFound();
  return row;
}

/**
 * "Strictly after the cursor" in (time DESC, id DESC) order. With the id this is a row-value
 * comparison, which SQLite turns into one index range; without it (DocSpace's own clients send
 * only the time) every row of that exact time is skipped, which is what such a caller asked for.
 */
function afterCursor(time: AnyColumn, id: AnyColumn, cursor: KeysetCursor | undefined): SQL | undefined {
  if (!cursor) return undefined;
  if (cursor.clientId === undefined) return lt(time, cursor.time);
  return sql`(${time}, ${id}) < (${cursor.time}, ${cursor.clientId})`;
}

/** Splits a `limit + 1` fetch into the page and whether another row follows it. */
function takePage<T>(rows: T[], limit: number): RowPage<T> {
  const items = rows.slice(0, limit);
  return { items, last: rows.length > limit ? items[items.length - 1] : undefined, limit };
}

/**
 * The query behind getClients and getClientsInfo: ADMIN sees its whole tenant, USER its own
 * clients (§4), newest first, `limit + 1` rows so the caller knows whether a next page exists.
 * Exported so a test can EXPLAIN the exact SQL and prove it is an index range scan.
 */
export function clientPageQuery(db: Database, principal: Principal, limit: number, cursor: KeysetCursor | undefined) {
  const visible =
    principal.role === "ADMIN"
      ? eq(clients.tenant, principal.tenantId)
      : and(eq(clients.tenant, principal.tenantId), eq(clients.createdBy, principal.userId));
  return db
    .select()
    .from(clients)
    .where(and(visible, afterCursor(clients.createdOn, clients.clientId, cursor)))
    .orderBy(desc(clients.createdOn), desc(clients.clientId))
    .limit(limit + 1);
}

/**
 * The query behind getConsents: the caller's own consents in its tenant, newest modification
 * first, ties by client id. The client is LEFT JOINed for its info, so a consent whose client is
 * gone still lists (with `client: null`). Exported for the query-plan test.
 */
export function consentPageQuery(db: Database, principal: Principal, limit: number, cursor: KeysetCursor | undefined) {
  return db
    .select({ consent: consents, client: clients })
    .from(consents)
    .leftJoin(clients, eq(clients.clientId, consents.clientId))
    .where(
      and(
        eq(consents.tenant, principal.tenantId),
        eq(consents.userId, principal.userId),
        afterCursor(consents.modifiedOn, consents.clientId, cursor),
      ),
    )
    .orderBy(desc(consents.modifiedOn), desc(consents.clientId))
    .limit(limit + 1);
}

const decodeClientRow = tableRowDecoder(clients);

/**
 * getClients / getClientsInfo (§4.8, §4.10): a page of the clients the caller manages. The SQL is
 * `clientPageQuery`'s; its up to 31 full rows are decoded by `decodeClientRow` instead of Drizzle's
 * generic row mapping, the page's largest cost of our own (BENCHMARKS.md, "page of 30").
 */
export async function listClients(
  db: Database,
  principal: Principal,
  limit: number,
  cursor: KeysetCursor | undefined,
): Promise<RowPage<ClientRow>> {
  assertMayManageClients(principal);
  const { sql: text, params } = clientPageQuery(db, principal, limit, cursor).toSQL();
  const rows = await guardD1(
    db.$client
      .prepare(text)
      .bind(...params)
      .raw(),
  );
  return takePage(rows.map(decodeClientRow), limit);
}

/** getConsents (§4.12): any signed role lists its own consents, each with its client (or null). */
export async function listConsents(
  db: Database,
  principal: Principal,
  limit: number,
  cursor: KeysetCursor | undefined,
): Promise<RowPage<{ consent: ConsentRow; client: ClientRow | null }>> {
  return takePage(await guardD1(consentPageQuery(db, principal, limit, cursor).all()), limit);
}

/** getScopes (§4.13): every scope in the table, `openid` first, then by name. */
export async function listScopes(db: Database): Promise<ScopeRow[]> {
  return guardD1(db.select().from(scopes).orderBy(sql`${scopes.name} = 'openid' DESC`, scopes.name).all());
}
