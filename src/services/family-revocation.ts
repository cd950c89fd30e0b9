import { revokeFamily } from "../authorization/refresh-tokens";
import type { FamilyRevocationReason } from "../db/schema";
import { revokeThenChange } from "../revocation/protocol";
import { familyRevocationTtlSeconds, familyRevokedIntent } from "../revocation/revocations";
import { revocationStoreOf, type ServiceDeps } from "./deps";

/**
 * Revoking ONE refresh family (AS §5.2, §7, §8): refresh-token reuse, code replay, RFC 7009, consent
 * gone at refresh. Introspection reads KV only, so the family's `revoked:family:{id}` entry is written
 * first, then D1 changes (`revokeThenChange`: a KV failure is a 503 with nothing changed; a D1
 * failure puts KV back). Management revocations (client delete, `revoke_tokens`, revoke-all,
 * revoked consent) write no per-family entry: their client or consent entry already covers every
 * token of those families.
 */

/** The family to revoke: its id and when it expires (the KV entry lives until its last access token has). */
export type FamilyToRevoke = { familyId: string; clientId: string; expiresOn: number };

/** Records the family's revocation in KV, then runs `change` (the D1 side). */
export function revokeFamilyThen<T>(deps: ServiceDeps, family: FamilyToRevoke, change: () => Promise<T>): Promise<T> {
  const ttl = familyRevocationTtlSeconds(family.expiresOn, deps.now, deps.signingKeys.accessTokenTtlMs);
  return revokeThenChange(
    revocationStoreOf(deps),
    [familyRevokedIntent(family, deps.now, ttl)],
    change,
    "The revocation could not be recorded; nothing was changed.",
  );
}

/** Revokes one family in KV, then in D1 (`revokeFamily`: a family already revoked keeps its first reason). */
export function revokeOneFamily(
  deps: ServiceDeps,
  family: FamilyToRevoke,
  reason: FamilyRevocationReason,
): Promise<boolean> {
  return revokeFamilyThen(deps, family, () => revokeFamily(deps, family.familyId, reason));
}
