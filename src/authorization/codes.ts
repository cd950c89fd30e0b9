import { and, eq, gt, isNull, sql } from "drizzle-orm";
import { guardD1 } from "../db/errors";
import { type AuthorizationCodeRow, authorizationCodes, refreshFamilies, refreshTokens } from "../db/schema";
import type { AuthorizationDeps } from "./deps";
import { hashToken, randomToken } from "./tokens";

/**
 * Authorization codes (AS §4 step 9, §10): issued with only their SHA-256 at rest, redeemed exactly
 * once by a conditional UPDATE, and a second redemption revokes what the first one started.
 * Table: docs/storage.md.
 */

/** What a code is bound to; the token endpoint checks it at redemption. `authTime` in ms. */
export type CodeInput = {
  clientId: string;
  tenant: number;
  userId: string;
  redirectUri: string;
  scopes: string[];
  codeChallenge: string | null;
  nonce: string | null;
  authTime: number;
  /** The user's name and email for the ID token (AS §5.4); optional, left out of it when unknown. */
  userName?: string | null;
  userEmail?: string | null;
};

/** The outcome of presenting a code at the token endpoint. */
export type CodeRedemption =
  /** This call consumed the code; the row carries everything it was bound to. */
  | { kind: "redeemed"; code: AuthorizationCodeRow }
  /**
   * The code had already been redeemed by this client: a replay. The family its first redemption
   * started (null if none was started) has been revoked, and no family can start from it any more.
   */
  | { kind: "replayed"; familyId: string | null }
  /** Unknown, expired, or bound to another client; nothing changed. */
  | { kind: "invalid" };

/** The family a redemption started and its first refresh token (plain, returned this once). */
export type StartedFamily = { familyId: string; refreshToken: string; expiresOn: number };

/** Issues a code for `input`, valid for `CODE_TTL_SECONDS`; returns the plain code (stored hashed). */
export async function issueCode(deps: AuthorizationDeps, input: CodeInput): Promise<string> {
  const code = randomToken();
  await guardD1(
    deps.db.insert(authorizationCodes).values({
      codeHash: await hashToken(code),
      ...input,
      createdOn: deps.now,
      expiresOn: deps.now + deps.authorization.codeTtlMs,
    }),
  );
  return code;
}

/**
 * Redeems a code exactly once (AS §10): `UPDATE … SET consumed_on WHERE code_hash = ? AND client_id
 * = ? AND consumed_on IS NULL AND expires_on > now RETURNING *`. D1 runs statements one at a time,
 * so of any number of concurrent calls exactly one gets the row. When none is returned, a code this
 * client already redeemed is a replay: its family is revoked and the code is marked so that a
 * family the first redemption has not started yet never starts (`startFamily`).
 */
export async function redeemCode(deps: AuthorizationDeps, code: string, clientId: string): Promise<CodeRedemption> {
  const { db, now } = deps;
  const codeHash = await hashToken(code);
  const [row] = await guardD1(
    db
      .update(authorizationCodes)
      .set({ consumedOn: now })
      .where(
        and(
          eq(authorizationCodes.codeHash, codeHash),
          eq(authorizationCodes.clientId, clientId),
          isNull(authorizationCodes.consumedOn),
          gt(authorizationCodes.expiresOn, now),
        ),
      )
      .returning(),
  );
  if (row) return { kind: "redeemed", code: row };

  const [seen] = await guardD1(
    db
      .select({ clientId: authorizationCodes.clientId, consumedOn: authorizationCodes.consumedOn })
      .from(authorizationCodes)
      .where(eq(authorizationCodes.codeHash, codeHash)),
  );
  if (!seen || seen.clientId !== clientId || seen.consumedOn === null) return { kind: "invalid" };

  const [marked] = await guardD1(
    db.batch([
      db
        .update(authorizationCodes)
        .set({ replayedOn: sql`coalesce(${authorizationCodes.replayedOn}, ${now})` })
        .where(eq(authorizationCodes.codeHash, codeHash))
        .returning({ familyId: authorizationCodes.familyId }),
      db
        .update(refreshFamilies)
        .set({ revokedOn: now, revokedReason: "code_replay" })
        .where(
          and(
            eq(
              refreshFamilies.familyId,
              sql`(SELECT ${authorizationCodes.familyId} FROM ${authorizationCodes} WHERE ${authorizationCodes.codeHash} = ${codeHash})`,
            ),
            isNull(refreshFamilies.revokedOn),
          ),
        ),
    ]),
  );
  return { kind: "replayed", familyId: marked[0]?.familyId ?? null };
}

/**
 * Starts the refresh family of a code this process just redeemed, with its first refresh token,
 * and records the family on the code — one batch, all or nothing. The family copies client, user,
 * tenant and scopes from the code row and expires `REFRESH_TOKEN_TTL_SECONDS` from now, as does its
 * first token. Returns null, writing nothing, when the code was replayed in the meantime (or
 * already started a family): the caller then answers `invalid_grant`.
 */
export async function startFamily(deps: AuthorizationDeps, code: AuthorizationCodeRow): Promise<StartedFamily | null> {
  const { db, now } = deps;
  const familyId = crypto.randomUUID();
  const refreshToken = randomToken();
  const tokenHash = await hashToken(refreshToken);
  const expiresOn = now + deps.authorization.refreshTokenTtlMs;
  const familyExists = sql`EXISTS (SELECT 1 FROM ${refreshFamilies} WHERE ${refreshFamilies.familyId} = ${familyId})`;
  const [, , recorded] = await guardD1(
    db.batch([
      // INSERT … SELECT with raw SQL lists every column in table order (Drizzle's contract for it).
      db.insert(refreshFamilies).select(
        sql`SELECT ${familyId}, client_id, tenant, user_id, scopes, ${now}, ${expiresOn}, NULL, NULL
          FROM ${authorizationCodes}
          WHERE code_hash = ${code.codeHash} AND consumed_on IS NOT NULL
            AND replayed_on IS NULL AND family_id IS NULL`,
      ),
      db.insert(refreshTokens).select(
        sql`SELECT ${tokenHash}, family_id, ${now}, expires_on, NULL, NULL
          FROM ${refreshFamilies} WHERE family_id = ${familyId}`,
      ),
      db
        .update(authorizationCodes)
        .set({ familyId })
        .where(and(eq(authorizationCodes.codeHash, code.codeHash), isNull(authorizationCodes.familyId), familyExists))
        .returning({ familyId: authorizationCodes.familyId }),
    ]),
  );
  return recorded.length > 0 ? { familyId, refreshToken, expiresOn } : null;
}
