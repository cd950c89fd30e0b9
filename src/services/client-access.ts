import { eq } from "drizzle-orm";
import { canManageClient, type Principal } from "../auth/principal";
import type { Database } from "../db/client";
import { guardD1 } from "../db/errors";
import { type ClientRow, clients } from "../db/schema";
import { GUID_PATTERN } from "../lib/ids";
import { clientNotFound, forbidden } from "../lib/problem";

/**
 * Who may touch which client (SPEC §4): the checks every management operation starts with. A
 * client the caller may not manage is a 404 that looks the same whether it does not exist, belongs
 * to another user or tenant, or the id is malformed — never a 403 that leaks its existence.
 */

/** ADMIN and USER manage clients; GUEST is refused before any lookup. */
export function assertMayManageClients(principal: Principal): void {
  if (principal.role === "GUEST") throw forbidden();
}

/** The lookup key of a client the caller may try to manage; refuses GUEST (403) and a malformed id (404). */
export function manageableClientId(principal: Principal, clientId: string): string {
  assertMayManageClients(principal);
  return wellFormedClientId(clientId);
}

/** A client id in its stored (lower-case) form; a malformed id is a 404, like an unknown one. */
export function wellFormedClientId(clientId: string): string {
  if (!GUID_PATTERN.test(clientId)) throw clientNotFound();
  return clientId.toLowerCase();
}

/** Whether a row is a client the caller may manage; a 404 otherwise. */
export function assertManageable<T extends { tenant: number; createdBy: string }>(
  principal: Principal,
  row: T | undefined,
): T {
  if (!row || !canManageClient(principal, row)) throw clientNotFound();
  return row;
}

/** The client the caller may manage, or the 404 above. */
export async function findManageableClient(db: Database, principal: Principal, clientId: string): Promise<ClientRow> {
  const id = manageableClientId(principal, clientId);
  return assertManageable(principal, await guardD1(db.select().from(clients).where(eq(clients.clientId, id)).get()));
}
