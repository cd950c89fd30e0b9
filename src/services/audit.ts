import { eq, type SQL, sql } from "drizzle-orm";
import type { Database } from "../db/client";
import { auditEvents, clients } from "../db/schema";

/** DocSpace's message codes for client-management audit events. */
export const AUDIT_ACTIONS = {
  create: 9901,
  update: 9902,
  regenerate: 9903,
  delete: 9904,
  activation: 9905,
  revoke: 9907,
  /** The gateway's own: revoke every token of a client without deleting it. Not a DocSpace code. */
  revokeTokens: 9950,
} as const;

export type AuditAction = (typeof AUDIT_ACTIONS)[keyof typeof AUDIT_ACTIONS];

/** Who made a change and from where (services/deps.ts `auditContextOf`). */
export type AuditContext = {
  tenant: number;
  userId: string;
  ip: string | null;
  userAgent: string | null;
  requestId: string;
};

/** The clients an audit insert names: one id, or a condition on `clients` (a bulk delete's set). */
export type AuditedClients = string | SQL;

/**
 * The audit insert of one change, for the same `db.batch` as the change it records: one event per
 * client the target names **that exists when the statement runs**. Placed after an insert it sees
 * the new client; placed before a delete it sees the doomed ones; and a change that lost a race
 * with a delete leaves no event for something that did not happen. One statement however many
 * clients (the bulk deletes name theirs through a single JSON parameter).
 */
export function auditClientEvents(
  db: Database,
  audit: AuditContext,
  action: AuditAction,
  target: AuditedClients,
  now: number,
) {
  return db.insert(auditEvents).select((qb) =>
    qb
      .select({
        // NULL into an INTEGER PRIMARY KEY takes the next id.
        id: sql<number>`NULL`.as("id"),
        tenant: sql<number>`${audit.tenant}`.as("tenant"),
        userId: sql<string>`${audit.userId}`.as("user_id"),
        clientId: clients.clientId,
        action: sql<number>`${action}`.as("action"),
        occurredOn: sql<number>`${now}`.as("occurred_on"),
        ip: sql<string | null>`${audit.ip}`.as("ip"),
        userAgent: sql<string | null>`${audit.userAgent}`.as("user_agent"),
        requestId: sql<string>`${audit.requestId}`.as("request_id"),
      })
      .from(clients)
      .where(typeof target === "string" ? eq(clients.clientId, target) : target),
  );
}
