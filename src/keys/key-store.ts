import { and, asc, desc, eq, gt, inArray, isNotNull, isNull, lt, lte, or, sql } from "drizzle-orm";
import type { Database } from "../db/client";
import { guardD1 } from "../db/errors";
import { type PublicSigningJwk, type SigningAlg, type SigningKeyRow, signingKeys } from "../db/schema";

/**
 * The `signing_keys` table (docs/storage.md): every statement the signing-key rules run. A D1
 * failure is a 503 (`guardD1`). The table holds a handful of rows (two per algorithm, plus retired
 * keys until their tokens expire), so reads fetch whole rows without further indexes.
 */

/** More than an algorithm ever holds (current, pending, retired-but-published, expired-not-yet-deleted). */
const KEYS_PER_ALG_READ = 16;

/** An algorithm's keys, newest slot first. */
export function keysOfAlg(db: Database, alg: SigningAlg): Promise<SigningKeyRow[]> {
  return guardD1(
    db
      .select()
      .from(signingKeys)
      .where(eq(signingKeys.alg, alg))
      .orderBy(desc(signingKeys.slot))
      .limit(KEYS_PER_ALG_READ),
  );
}

/** The public JWK and algorithm of every key not yet past its `retire_at`, by algorithm, newest first. */
export function publishedKeyRows(
  db: Database,
  now: number,
): Promise<{ alg: SigningAlg; publicJwk: PublicSigningJwk }[]> {
  return guardD1(
    db
      .select({ alg: signingKeys.alg, publicJwk: signingKeys.publicJwk })
      .from(signingKeys)
      .where(or(isNull(signingKeys.retireAt), gt(signingKeys.retireAt, now)))
      .orderBy(asc(signingKeys.alg), desc(signingKeys.slot)),
  );
}

/**
 * Adds `row` to its slot and retires every older key of its algorithm, in one batch. The insert
 * does nothing when another isolate already filled the slot; the retirement is computed from the
 * key that holds the slot either way (its `not_before` + `holdMs`), so every racer writes the same
 * values, and a key that already has a `retire_at` keeps it. Returns whether this row was inserted.
 */
export async function insertKeyRetiringOlder(db: Database, row: SigningKeyRow, holdMs: number): Promise<boolean> {
  const successorNotBefore = sql`(SELECT s.not_before FROM signing_keys AS s WHERE s.alg = ${row.alg} AND s.slot = ${row.slot})`;
  const [inserted] = await guardD1(
    db.batch([
      db.insert(signingKeys).values(row).onConflictDoNothing().returning({ kid: signingKeys.kid }),
      db
        .update(signingKeys)
        .set({ retireAt: sql`${successorNotBefore} + ${holdMs}` })
        .where(and(eq(signingKeys.alg, row.alg), lt(signingKeys.slot, row.slot), isNull(signingKeys.retireAt))),
    ]),
  );
  return inserted.length > 0;
}

/** Deletes at most `limit` keys whose `retire_at` has passed, oldest first; returns their kids. */
export async function deleteRetiredKeys(db: Database, now: number, limit: number): Promise<string[]> {
  const due = db
    .select({ kid: signingKeys.kid })
    .from(signingKeys)
    .where(and(isNotNull(signingKeys.retireAt), lte(signingKeys.retireAt, now)))
    .orderBy(asc(signingKeys.retireAt))
    .limit(limit);
  const deleted = await guardD1(
    db.delete(signingKeys).where(inArray(signingKeys.kid, due)).returning({ kid: signingKeys.kid }),
  );
  return deleted.map((key) => key.kid);
}
