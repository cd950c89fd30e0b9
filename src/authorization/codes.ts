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

/** The family a redemption started and its first refresh token (plain, returned this once). */
export type StartedFamily = { familyId: string; refreshToken: string; expiresOn: number };

/** The outcome of presenting a code at the token endpoint. */
export type CodeRedemption =
  /**
   * This call consumed the code and, in the same batch, started its refresh family: the row carries
   * everything the code was bound to (and `familyId`), `family` the first refresh token.
   */
  | { kind: "redeemed"; code: AuthorizationCodeRow; family: StartedFamily }
  /**
   * The code had already been redeemed by this client: a replay. Nothing was changed yet: the
   * caller records the revocation of the family its redemption started (`familyId`, null only for a
   * code redeemed before redemption and family start became one batch; `familyExpiresOn`) in KV,
   * then calls `revokeReplayedCode` with this outcome. `bindings` are the code's redirect URI and
   * challenge, so that only a replay that would otherwise have been valid revokes (OAuth 2.1 §7.5.3).
   */
  | {
      kind: "replayed";
      familyId: string | null;
      familyExpiresOn: number;
      codeHash: string;
      bindings: Pick<AuthorizationCodeRow, "redirectUri" | "codeChallenge">;
    }
  /** Unknown, expired, or bound to another client; nothing changed. */
  | { kind: "invalid" };

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
 * Redeems a code exactly once (AS §10) and starts its refresh family, in ONE batch (D1 runs a batch
 * as one transaction, so no other statement lands in between):
 * (1) `UPDATE … SET consumed_on = now, family_id = <new id> WHERE code_hash = ? AND client_id = ? AND
 * consumed_on IS NULL AND expires_on > now RETURNING *` — of any number of concurrent calls exactly
 * one gets the row; (2) insert the family from the code row only where `family_id` is the id this
 * call generated, i.e. only if (1) matched; (3) insert its first refresh token from that family.
 * The family copies client, user (with name and email), tenant and scopes from the code and expires
 * `REFRESH_TOKEN_TTL_SECONDS` from now, as does its first token.
 *
 * When (1) returns no row, a code this client already redeemed is a replay, reported with the family
 * its redemption started; `revokeReplayedCode` then revokes that family and marks the code.
 */
export async function redeemCode(deps: AuthorizationDeps, code: string, clientId: string): Promise<CodeRedemption> {
  const { db, now } = deps;
  const codeHash = await hashToken(code);
  const familyId = crypto.randomUUID();
  const refreshToken = randomToken();
  const tokenHash = await hashToken(refreshToken);
  const expiresOn = now + deps.authorization.refreshTokenTtlMs;
  const [consumed] = await guardD1(
    db.batch([
      db
        .update(authorizationCodes)
        .set({ consumedOn: now, familyId })
        .where(
          and(
            eq(authorizationCodes.codeHash, codeHash),
            eq(authorizationCodes.clientId, clientId),
            isNull(authorizationCodes.consumedOn),
            gt(authorizationCodes.expiresOn, now),
          ),
        )
        .returning(),
      // INSERT … SELECT with raw SQL lists every column in table order (Drizzle's contract for it).
      // `family_id` is this call's fresh UUID only if statement (1) just set it.
      db.insert(refreshFamilies).select(
        sql`SELECT ${familyId}, client_id, tenant, user_id, scopes, ${now}, ${expiresOn}, NULL, NULL, user_name, user_email
          FROM ${authorizationCodes} WHERE code_hash = ${codeHash} AND family_id = ${familyId}`,
      ),
      db.insert(refreshTokens).select(
        sql`SELECT ${tokenHash}, family_id, ${now}, expires_on, NULL, NULL
          FROM ${refreshFamilies} WHERE family_id = ${familyId}`,
      ),
    ]),
  );
  const [row] = consumed;
  if (row) return { kind: "redeemed", code: row, family: { familyId, refreshToken, expiresOn } };

  const [seen] = await guardD1(
    db
      .select({
        clientId: authorizationCodes.clientId,
        consumedOn: authorizationCodes.consumedOn,
        familyId: authorizationCodes.familyId,
        familyExpiresOn: refreshFamilies.expiresOn,
        redirectUri: authorizationCodes.redirectUri,
        codeChallenge: authorizationCodes.codeChallenge,
      })
      .from(authorizationCodes)
      .leftJoin(refreshFamilies, eq(refreshFamilies.familyId, authorizationCodes.familyId))
      .where(eq(authorizationCodes.codeHash, codeHash)),
  );
  if (!seen || seen.clientId !== clientId || seen.consumedOn === null) return { kind: "invalid" };
  return {
    kind: "replayed",
    familyId: seen.familyId,
    familyExpiresOn: seen.familyExpiresOn ?? now,
    codeHash,
    bindings: { redirectUri: seen.redirectUri, codeChallenge: seen.codeChallenge },
  };
}

/**
 * Acts on a replay `redeemCode` reported, in ONE batch: the code is marked `replayed_on` (first time
 * kept) and the family its redemption started is revoked (RFC 6749 §4.1.2: a replay revokes what
 * the code issued; reason `code_replay`, a family already revoked keeps its first reason). The
 * caller has recorded the family's revocation in KV first (AS §7 reads KV only).
 */
export async function revokeReplayedCode(deps: AuthorizationDeps, replay: { codeHash: string }): Promise<void> {
  const { db, now } = deps;
  const { codeHash } = replay;
  await guardD1(
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
}
