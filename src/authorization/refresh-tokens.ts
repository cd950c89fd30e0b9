import { and, eq, exists, gt, isNull, type SQL, sql } from "drizzle-orm";
import { guardD1 } from "../db/errors";
import {
  type FamilyRevocationReason,
  type RefreshFamilyRow,
  type RefreshTokenRow,
  refreshFamilies,
  refreshTokens,
} from "../db/schema";
import type { AuthorizationDeps } from "./deps";
import { hashToken, randomToken } from "./tokens";

/**
 * Refresh tokens and their families (AS §5.2, §10): every refresh rotates the presented token
 * exactly once; presenting a token that was already rotated is reuse, reported to the caller, which
 * revokes the family (KV first, then `revokeFamily`: the revocation protocol lives in the service).
 * Tables: docs/storage.md.
 */

/** The outcome of presenting a refresh token. */
export type RefreshRotation =
  /** This call rotated the token: the successor (plain, returned this once) and its family. */
  | { kind: "rotated"; refreshToken: string; family: RefreshFamilyRow }
  /**
   * The token had already been rotated: reuse. Nothing was changed: the caller records the family's
   * revocation in KV, then revokes it in D1 (`revokeFamily`, reason `reuse`; AS §7 reads KV only).
   */
  | { kind: "reuse"; familyId: string; familyExpiresOn: number }
  /** Unknown, expired, of a revoked or expired family, or issued to another client; nothing changed. */
  | { kind: "invalid" };

/**
 * Rotates a refresh token exactly once, in one batch: (1) a conditional UPDATE sets `rotated_on` and
 * `replaced_by` = the successor's hash only on a live, unrotated token of a live family of this
 * client; (2) the successor is inserted only if (1) named it — a racer's statement (2) carries
 * another hash and inserts nothing; (3) the family is read back. The successor expires with the
 * family: rotations never extend it. No row from (1) and a token that was rotated before is reuse
 * (reported, not acted on: see `RefreshRotation`).
 */
export async function rotateRefreshToken(
  deps: AuthorizationDeps,
  token: string,
  clientId: string,
): Promise<RefreshRotation> {
  const { db, now } = deps;
  const tokenHash = await hashToken(token);
  const successor = randomToken();
  const successorHash = await hashToken(successor);
  // Correlated on the token's own family (a primary-key lookup): an `IN (SELECT … WHERE client_id = ?)`
  // built the list of every family of the client on each rotation, O(families) for a popular client.
  const ofLiveFamilyOfClient = exists(
    db
      .select({ one: sql`1` })
      .from(refreshFamilies)
      .where(
        and(
          eq(refreshFamilies.familyId, refreshTokens.familyId),
          eq(refreshFamilies.clientId, clientId),
          isNull(refreshFamilies.revokedOn),
          gt(refreshFamilies.expiresOn, now),
        ),
      ),
  );
  const [rotated, , family] = await guardD1(
    db.batch([
      db
        .update(refreshTokens)
        .set({ rotatedOn: now, replacedBy: successorHash })
        .where(
          and(
            eq(refreshTokens.tokenHash, tokenHash),
            isNull(refreshTokens.rotatedOn),
            gt(refreshTokens.expiresOn, now),
            ofLiveFamilyOfClient,
          ),
        )
        .returning({ familyId: refreshTokens.familyId }),
      // INSERT … SELECT with raw SQL lists every column in table order (Drizzle's contract for it).
      db.insert(refreshTokens).select(
        sql`SELECT ${successorHash}, t.family_id, ${now}, f.expires_on, NULL, NULL
          FROM ${refreshTokens} AS t JOIN ${refreshFamilies} AS f ON f.family_id = t.family_id
          WHERE t.token_hash = ${tokenHash} AND t.replaced_by = ${successorHash}`,
      ),
      db
        .select()
        .from(refreshFamilies)
        .where(
          eq(
            refreshFamilies.familyId,
            sql`(SELECT family_id FROM ${refreshTokens} WHERE token_hash = ${successorHash})`,
          ),
        ),
    ]),
  );
  const [rotatedFamily] = family;
  if (rotated.length > 0 && rotatedFamily) return { kind: "rotated", refreshToken: successor, family: rotatedFamily };

  const [seen] = await guardD1(
    db
      .select({
        familyId: refreshTokens.familyId,
        rotatedOn: refreshTokens.rotatedOn,
        clientId: refreshFamilies.clientId,
        familyExpiresOn: refreshFamilies.expiresOn,
      })
      .from(refreshTokens)
      .innerJoin(refreshFamilies, eq(refreshFamilies.familyId, refreshTokens.familyId))
      .where(eq(refreshTokens.tokenHash, tokenHash)),
  );
  if (!seen || seen.clientId !== clientId || seen.rotatedOn === null) return { kind: "invalid" };
  return { kind: "reuse", familyId: seen.familyId, familyExpiresOn: seen.familyExpiresOn };
}

/**
 * Revokes a family: none of its tokens rotates or introspects as active any more. A family already
 * revoked keeps its first time and reason. Returns whether this call revoked it.
 */
export async function revokeFamily(
  deps: AuthorizationDeps,
  familyId: string,
  reason: FamilyRevocationReason,
): Promise<boolean> {
  return (await revokeLiveFamilies(deps, eq(refreshFamilies.familyId, familyId), reason)) > 0;
}

/** Selects the families of a client, or of one (client, user): the owners management revocations name. */
export function familiesOf(owner: { clientId: string; userId?: string }): SQL {
  return and(
    eq(refreshFamilies.clientId, owner.clientId),
    owner.userId === undefined ? undefined : eq(refreshFamilies.userId, owner.userId),
  ) as SQL;
}

/**
 * Revokes every live family of a client, or of one (client, user) — for client deletes, revoked
 * consent and `revoke_tokens` (AS §8). Returns how many. A caller whose change is a batch puts
 * `revokeFamiliesStatement` into it instead, so the families stop with that change or not at all.
 */
export async function revokeFamiliesOf(
  deps: AuthorizationDeps,
  owner: { clientId: string; userId?: string },
  reason: FamilyRevocationReason,
): Promise<number> {
  return revokeLiveFamilies(deps, familiesOf(owner), reason);
}

/**
 * The UPDATE that marks the live families `which` selects revoked at `now` (a family already
 * revoked keeps its first time and reason), unexecuted: for a caller's own `db.batch`.
 */
export function revokeFamiliesStatement(
  db: AuthorizationDeps["db"],
  which: SQL | undefined,
  reason: FamilyRevocationReason,
  now: number,
) {
  return db
    .update(refreshFamilies)
    .set({ revokedOn: now, revokedReason: reason })
    .where(and(which, isNull(refreshFamilies.revokedOn)))
    .returning({ familyId: refreshFamilies.familyId });
}

/** Marks the live families that `which` selects revoked; how many. */
async function revokeLiveFamilies(
  deps: AuthorizationDeps,
  which: SQL | undefined,
  reason: FamilyRevocationReason,
): Promise<number> {
  const revoked = await guardD1(revokeFamiliesStatement(deps.db, which, reason, deps.now));
  return revoked.length;
}

/** A stored refresh token with its family, and whether it is active at `now`. */
export type RefreshTokenStatus = { token: RefreshTokenRow; family: RefreshFamilyRow; active: boolean };

/**
 * Looks a refresh token up without changing anything, for introspection (AS §7) and revocation
 * (AS §8: the caller checks `family.clientId` and revokes the family). Active means: not rotated,
 * not expired, family not revoked and not expired. Null for an unknown token.
 */
export async function findRefreshToken(deps: AuthorizationDeps, token: string): Promise<RefreshTokenStatus | null> {
  const [found] = await guardD1(
    deps.db
      .select({ token: refreshTokens, family: refreshFamilies })
      .from(refreshTokens)
      .innerJoin(refreshFamilies, eq(refreshFamilies.familyId, refreshTokens.familyId))
      .where(eq(refreshTokens.tokenHash, await hashToken(token))),
  );
  if (!found) return null;
  return {
    ...found,
    active: found.token.rotatedOn === null && found.token.expiresOn > deps.now && isFamilyLive(found.family, deps.now),
  };
}

/** Whether a family's tokens (and the access tokens issued from it) may still be used at `now`. */
export function isFamilyLive(family: RefreshFamilyRow, now: number): boolean {
  return family.revokedOn === null && family.expiresOn > now;
}

/**
 * Whether the family an access token was issued from is still live (AS §7: an access token of a
 * revoked family no longer introspects as active). An unknown (purged) family is not live.
 */
export async function familyIsLive(deps: AuthorizationDeps, familyId: string): Promise<boolean> {
  const [family] = await guardD1(deps.db.select().from(refreshFamilies).where(eq(refreshFamilies.familyId, familyId)));
  return family !== undefined && isFamilyLive(family, deps.now);
}

/** The name and email of a family's user, as the code that started it carried them (for UserInfo); null when unknown. */
export async function familyUserClaims(
  deps: Pick<AuthorizationDeps, "db">,
  familyId: string,
): Promise<{ name: string | null; email: string | null } | undefined> {
  return guardD1(
    deps.db
      .select({ name: refreshFamilies.userName, email: refreshFamilies.userEmail })
      .from(refreshFamilies)
      .where(eq(refreshFamilies.familyId, familyId))
      .get(),
  );
}
