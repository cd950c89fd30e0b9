import { type AnyColumn, and, desc, eq, lt, type SQL, sql } from "drizzle-orm";
import type { Principal } from "../auth/principal";
import type { Database } from "../db/client";
import { type ClientRow, type ConsentRow, clients, consents, scopes } from "../db/schema";
import { GUID_PATTERN } from "../lib/ids";
import { clientNotFound } from "../lib/problem";
import type {
  ClientInfoPage,
  ClientInfoResponse,
  ClientPage,
  ConsentPage,
  ConsentResponse,
  ScopeResponse,
} from "../schemas/client-queries";
import type { ClientResponse } from "../schemas/clients";
import type { KeysetCursor } from "../schemas/pagination";
import { assertMayManageClients, findManageableClient, toClientResponse } from "./clients";
import { guardD1 } from "./storage-errors";

/**
 * The read side of SPEC §4.7–§4.13. Lists are keyset pages in newest-first order with the id as
 * tie-breaker; each query is an index range scan (see docs/pagination.md for the query plans).
 */

const iso = (ms: number): string => new Date(ms).toISOString();

/** Renders a stored client in DocSpace's ClientInfoResponse shape (what a consent screen shows). */
export function toClientInfoResponse(row: ClientRow): ClientInfoResponse {
  return {
    client_id: row.clientId,
    name: row.name,
    description: row.description,
    scopes: row.scopes,
    website_url: row.websiteUrl,
    terms_url: row.termsUrl,
    policy_url: row.policyUrl,
    logo: row.logo,
    authentication_methods: row.allowPkce ? ["client_secret_post", "none"] : ["client_secret_post"],
    is_public: row.isPublic,
    created_on: iso(row.createdOn),
    created_by: row.createdBy,
    modified_on: iso(row.modifiedOn),
    modified_by: row.modifiedBy,
  };
}

/** Renders a consent with its client's info, or `null` for the client when it no longer exists. */
export function toConsentResponse(consent: ConsentRow, client: ClientRow | null): ConsentResponse {
  return {
    registered_client_id: consent.clientId,
    scopes: consent.scopes,
    modified_at: iso(consent.modifiedOn),
    client: client ? toClientInfoResponse(client) : null,
  };
}

/** getClient (§4.7): the full client without its secret, which is only ever stored hashed. */
export async function getClient(db: Database, principal: Principal, clientId: string): Promise<ClientResponse> {
  return toClientResponse(await findManageableClient(db, principal, clientId));
}

/** getClientInfo (§4.9): the public face of a client the caller may manage. */
export async function getClientInfo(db: Database, principal: Principal, clientId: string): Promise<ClientInfoResponse> {
  return toClientInfoResponse(await findManageableClient(db, principal, clientId));
}

/**
 * getPublicClientInfo (§4.11): any tenant, enabled or not, no caller — the consent screen shows
 * it before anyone is signed in. It exposes nothing ClientInfoResponse does not already publish.
 */
export async function getPublicClientInfo(db: Database, clientId: string): Promise<ClientInfoResponse> {
  if (!GUID_PATTERN.test(clientId)) throw clientNotFound();
  const row = await guardD1(db.select().from(clients).where(eq(clients.clientId, clientId.toLowerCase())).get());
  if (!row) throw clientNotFound();
  return toClientInfoResponse(row);
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
function takePage<T>(rows: T[], limit: number): { items: T[]; last: T | undefined } {
  const items = rows.slice(0, limit);
  return { items, last: rows.length > limit ? items[items.length - 1] : undefined };
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

async function listClientRows(
  db: Database,
  principal: Principal,
  limit: number,
  cursor: KeysetCursor | undefined,
): Promise<{ items: ClientRow[]; last: ClientRow | undefined }> {
  assertMayManageClients(principal);
  return takePage(await guardD1(clientPageQuery(db, principal, limit, cursor).all()), limit);
}

/** getClients (§4.8): a page of ClientResponse; the cursor is null exactly when nothing follows. */
export async function listClients(
  db: Database,
  principal: Principal,
  limit: number,
  cursor: KeysetCursor | undefined,
): Promise<ClientPage> {
  const { items, last } = await listClientRows(db, principal, limit, cursor);
  return {
    data: items.map((row) => toClientResponse(row)),
    limit,
    last_client_id: last ? last.clientId : null,
    last_created_on: last ? iso(last.createdOn) : null,
  };
}

/** getClientsInfo (§4.10): as getClients, each item in the ClientInfoResponse shape. */
export async function listClientsInfo(
  db: Database,
  principal: Principal,
  limit: number,
  cursor: KeysetCursor | undefined,
): Promise<ClientInfoPage> {
  const { items, last } = await listClientRows(db, principal, limit, cursor);
  return {
    data: items.map(toClientInfoResponse),
    limit,
    last_client_id: last ? last.clientId : null,
    last_created_on: last ? iso(last.createdOn) : null,
  };
}

/** getConsents (§4.12): any signed role lists its own consents, each with its client's info. */
export async function listConsents(
  db: Database,
  principal: Principal,
  limit: number,
  cursor: KeysetCursor | undefined,
): Promise<ConsentPage> {
  const rows = await guardD1(consentPageQuery(db, principal, limit, cursor).all());
  const { items, last } = takePage(rows, limit);
  return {
    data: items.map(({ consent, client }) => toConsentResponse(consent, client)),
    limit,
    last_modified_on: last ? iso(last.consent.modifiedOn) : null,
    last_client_id: last ? last.consent.clientId : null,
  };
}

/** getScopes (§4.13): every scope in the table, `openid` first, then by name. */
export async function listScopes(db: Database): Promise<ScopeResponse[]> {
  const rows = await guardD1(db.select().from(scopes).orderBy(sql`${scopes.name} = 'openid' DESC`, scopes.name).all());
  return rows.map((row) => ({ name: row.name, group: row.group, type: row.type }));
}
