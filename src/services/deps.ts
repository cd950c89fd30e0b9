import type { Principal } from "../auth/principal";
import type { AuthorizationSettings } from "../authorization/settings";
import type { Database } from "../db/client";
import type { SigningKeySettings } from "../keys/settings";
import type { RevocationStore } from "../revocation/protocol";
import type { AuditContext } from "./audit";

/** Where a request came from, for the audit trail; never credentials. */
export type RequestMeta = {
  requestId: string;
  ip: string | null;
  userAgent: string | null;
};

/**
 * Everything a service needs, as plain values: built once per request by the `provideDependencies`
 * middleware, or by any other caller (a cron, a test) without a request.
 */
export type ServiceDeps = {
  db: Database;
  kv: KVNamespace;
  /** The revocation ledgers (one Durable Object per client) that order every revocation write to `kv`. */
  revocationLedgers: Env["REVOCATION_LEDGER"];
  /** Milliseconds since the epoch. */
  now: number;
  pepper: string;
  /** TTL of revocation entries: the longest token lifetime (SPEC §9). */
  revocationTtlSeconds: number;
  /** The authorization server's signing-key configuration (src/keys/); `ServiceDeps` is a `SigningKeyDeps`. */
  signingKeys: SigningKeySettings;
  /** Lifetimes of codes and refresh families (src/authorization/); `ServiceDeps` is an `AuthorizationDeps`. */
  authorization: AuthorizationSettings;
  request: RequestMeta;
};

/** Who made a change and from where, as the audit trail records it. */
export function auditContextOf(principal: Principal, request: RequestMeta): AuditContext {
  return { tenant: principal.tenantId, userId: principal.userId, ...request };
}

/** The revocation lists as the revocation protocol writes them. */
export function revocationStoreOf(deps: ServiceDeps): RevocationStore {
  return { kv: deps.kv, ledgers: deps.revocationLedgers, ttlSeconds: deps.revocationTtlSeconds, now: deps.now };
}
