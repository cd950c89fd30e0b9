import { unavailable } from "../lib/problem";

/**
 * Typed access to the revocation lists in KV (SPEC §9). An entry says: every token of this
 * scope issued at or before `revoked_before` (epoch seconds) is revoked. Entries live as long
 * as the longest token can, so the lists never grow without bound.
 */

export type RevocationReason = "client_deleted" | "tokens_revoked" | "consent_revoked";

export type RevocationEntry = {
  /** Tokens with `issued_at` ≤ this (epoch seconds) are revoked. */
  revoked_before: number;
  reason: RevocationReason;
};

/** KV's minimum `expirationTtl`. */
export const MIN_KV_TTL_SECONDS = 60;
export const DEFAULT_MAX_TOKEN_TTL_SECONDS = 60 * 24 * 60 * 60;

/** Every token issued to the client (delete, bulk delete, revoke-all). */
export const clientRevocationKey = (clientId: string): string => `revoked:client:${clientId}`;
/** Every token issued to the client for one user (consent revoked). */
export const consentRevocationKey = (clientId: string, userId: string): string =>
  `revoked:consent:${clientId}:${userId}`;

/** The entry TTL: `MAX_TOKEN_TTL_SECONDS`, clamped to KV's 60 s minimum; the default when unset or invalid. */
export function revocationTtlSeconds(configured: string | undefined): number {
  const n = Number(configured);
  if (!configured || !Number.isFinite(n) || n <= 0) return DEFAULT_MAX_TOKEN_TTL_SECONDS;
  return Math.max(MIN_KV_TTL_SECONDS, Math.floor(n));
}

/** Reads one entry; a malformed value counts as absent. */
export async function readRevocation(kv: KVNamespace, key: string): Promise<RevocationEntry | null> {
  // Read as text: kv.get(key, "json") throws on a malformed value, which would turn a bad entry
  // (only ever written by hand) into a 503 for every check of that client.
  const value = await kv.get(key);
  return value === null ? null : safeParse(value);
}

/** A written entry, what it replaced, and what was written, so a failed operation can put the list back. */
export type RevocationWrite = { key: string; previous: string | null; written: string };

/**
 * The entry to store when `entry` meets what is stored: an existing entry is never weakened
 * (`revoked_before` only moves forward), and a `client_deleted` reason is kept, because token status
 * relies on it to answer for a client that no longer exists. A malformed stored value counts as absent.
 */
export function mergeRevocation(stored: string | null, entry: RevocationEntry): RevocationEntry {
  const prior = stored === null ? null : safeParse(stored);
  if (!prior) return entry;
  return {
    revoked_before: Math.max(prior.revoked_before, entry.revoked_before),
    reason: prior.reason === "client_deleted" ? "client_deleted" : entry.reason,
  };
}

/**
 * Writes revocation entries before the caller removes anything from D1 (fail closed): if KV
 * cannot be read or written the operation answers 503 and nothing has changed.
 */
export async function writeRevocations(
  kv: KVNamespace,
  entries: { key: string; entry: RevocationEntry }[],
  ttlSeconds: number,
): Promise<RevocationWrite[]> {
  const written: RevocationWrite[] = [];
  try {
    for (const { key, entry } of entries) {
      const previous = await kv.get(key);
      const value = JSON.stringify(mergeRevocation(previous, entry));
      await kv.put(key, value, { expirationTtl: ttlSeconds });
      written.push({ key, previous, written: value });
    }
  } catch (error) {
    await restoreRevocations(kv, written, ttlSeconds);
    throw unavailable("The revocation list could not be written; nothing was changed.", error);
  }
  return written;
}

/**
 * Best-effort undo of `writeRevocations` after D1 refused the matching change, so that the
 * operation is not half-applied. An entry is put back only while it still holds what this request
 * wrote: if another request has since written a stronger entry, that one stays (undoing it would
 * silently cancel a revocation its caller was told had succeeded). If the undo fails, an entry may
 * outlive the refused change: that revokes tokens early (safe), never keeps one alive.
 */
export async function restoreRevocations(
  kv: KVNamespace,
  writes: RevocationWrite[],
  ttlSeconds: number,
): Promise<void> {
  for (const { key, previous, written } of writes.reverse()) {
    try {
      if ((await kv.get(key)) !== written) continue;
      if (previous === null) await kv.delete(key);
      else await kv.put(key, previous, { expirationTtl: ttlSeconds });
    } catch {
      // Logged by the caller's 503; see the doc comment for why this is safe.
    }
  }
}

function safeParse(value: string): RevocationEntry | null {
  try {
    const parsed = JSON.parse(value) as RevocationEntry;
    return typeof parsed?.revoked_before === "number" ? parsed : null;
  } catch {
    return null;
  }
}
