import { unavailable } from "../lib/problem";
import {
  disabledClientKey,
  jtiRevocationKey,
  MIN_KV_TTL_SECONDS,
  mergeRevocation,
  type RevocationIntent,
} from "./revocations";

/**
 * The one implementation of the rule this product is built on (SPEC §9, docs/architecture.md):
 * **write the KV revocation first, then change D1, and put KV back if D1 refuses.**
 *
 * 1. read what every key holds now (KV bulk gets, 100 keys a call);
 * 2. write each merged entry (never weaker than what was stored) with bounded concurrency;
 *    if any write fails, restore what was attempted and answer 503 — D1 was not touched;
 * 3. run the D1 change; if it throws, restore the entries and rethrow — nothing is half-applied.
 *
 * Every operation that revokes (single and bulk deletes, revoke consent, disabling a client — with
 * or without `revoke_tokens` —, revoke-all-tokens, and the revocation of one refresh family: reuse,
 * code replay, RFC 7009, consent gone at refresh) goes through `revokeThenChange`; nothing else
 * writes or undoes revocation entries, except `revokeAccessTokenId` below (one token's entry, with no
 * D1 change to pair it with) and `clearClientDisabled` (after D1 enabled the client again).
 */

/** A written entry, what it replaced, and what was written, so a failed operation can put the list back. */
type RevocationWrite = { key: string; previous: string | null; written: string; ttlSeconds: number };

/** Keys per KV bulk get (the Workers limit). */
const KV_BULK_GET_KEYS = 100;
/** Puts in flight at once: enough to hide KV latency, few enough to stay polite to one namespace. */
const KV_PUT_CONCURRENCY = 8;

export type RevocationStore = {
  kv: KVNamespace;
  /** Every entry's `expirationTtl` (the longest token lifetime, ≥ 60 s). */
  ttlSeconds: number;
};

/**
 * Records `intents` in KV, then runs `change` (the D1 side of the operation). Fails closed: a KV
 * failure answers 503 before `change` runs; a failure of `change` restores KV and is rethrown.
 * With no intents, `change` simply runs. `failureDetail` is the 503's detail when KV fails.
 */
export async function revokeThenChange<T>(
  store: RevocationStore,
  intents: readonly RevocationIntent[],
  change: () => Promise<T>,
  failureDetail = "The revocation list could not be written; nothing was changed.",
): Promise<T> {
  const writes = await writeRevocations(store, intents, failureDetail);
  try {
    return await change();
  } catch (error) {
    await restoreRevocations(store, writes);
    throw error;
  }
}

/** Steps 1–2: read the previous values, write the merged entries; all or (after a restore) nothing. */
async function writeRevocations(
  store: RevocationStore,
  intents: readonly RevocationIntent[],
  failureDetail: string,
): Promise<RevocationWrite[]> {
  if (intents.length === 0) return [];
  const { kv, ttlSeconds } = store;
  const attempted: RevocationWrite[] = [];
  try {
    const previous = await readPrevious(
      kv,
      intents.map((i) => i.key),
    );
    let next = 0;
    let failed: unknown;
    const worker = async () => {
      while (failed === undefined && next < intents.length) {
        const { key, entry, ttlSeconds: own } = intents[next++] as RevocationIntent;
        const prior = previous.get(key) ?? null;
        const value = JSON.stringify(mergeRevocation(prior, entry));
        const ttl = Math.max(MIN_KV_TTL_SECONDS, own ?? ttlSeconds);
        attempted.push({ key, previous: prior, written: value, ttlSeconds: ttl });
        try {
          await kv.put(key, value, { expirationTtl: ttl });
        } catch (error) {
          failed ??= error;
        }
      }
    };
    // Settle every in-flight put before judging, so the restore below sees all of them.
    await Promise.all(Array.from({ length: Math.min(KV_PUT_CONCURRENCY, intents.length) }, worker));
    if (failed !== undefined) throw failed;
  } catch (error) {
    await restoreRevocations(store, attempted);
    throw unavailable(failureDetail, error);
  }
  return attempted;
}

/** What each key holds now: one plain get for a single key, bulk gets of 100 otherwise. */
async function readPrevious(kv: KVNamespace, keys: string[]): Promise<Map<string, string | null>> {
  const [only] = keys;
  if (keys.length === 1 && only !== undefined) return new Map([[only, await kv.get(only)]]);
  const previous = new Map<string, string | null>();
  for (let i = 0; i < keys.length; i += KV_BULK_GET_KEYS) {
    for (const [key, value] of await kv.get(keys.slice(i, i + KV_BULK_GET_KEYS), "text")) previous.set(key, value);
  }
  return previous;
}

/**
 * Best-effort undo after the D1 change was refused, so that the operation is not half-applied. An
 * entry is put back only while it still holds what this request wrote: if another request has since
 * written a stronger entry, that one stays (undoing it would silently cancel a revocation its caller
 * was told had succeeded). What the keys hold now is read in bulk (one get per 100 keys), so undoing
 * a 450-client bulk delete stays inside a Worker invocation's 1,000 KV operations (5 + 450 writes, then
 * 5 + at most 450 undos). If the undo fails, an entry may outlive the refused change: that revokes
 * tokens early, never keeps one alive.
 */
async function restoreRevocations(store: RevocationStore, writes: RevocationWrite[]): Promise<void> {
  if (writes.length === 0) return;
  const { kv } = store;
  let current: Map<string, string | null>;
  try {
    current = await readPrevious(
      kv,
      writes.map((w) => w.key),
    );
  } catch {
    return; // Logged by the caller's 503; see the doc comment for why this is safe.
  }
  for (const { key, previous, written, ttlSeconds } of [...writes].reverse()) {
    if ((current.get(key) ?? null) !== written) continue;
    try {
      if (previous === null) await kv.delete(key);
      else await kv.put(key, previous, { expirationTtl: ttlSeconds });
    } catch {
      // As above.
    }
  }
}

/**
 * Revokes one access token by its `jti` (RFC 7009, AS §8): the entry lives until the token expires
 * (`expiresAt`, epoch seconds) plus 60 s of verifier skew, and at least KV's minimum TTL. There is no
 * D1 side, so nothing to undo; a KV failure is a 503, so the caller is never told a token was
 * revoked when it was not.
 */
export async function revokeAccessTokenId(kv: KVNamespace, jti: string, expiresAt: number, now: number): Promise<void> {
  const nowSeconds = Math.floor(now / 1000);
  const ttl = Math.max(MIN_KV_TTL_SECONDS, expiresAt - nowSeconds + 60);
  try {
    await kv.put(jtiRevocationKey(jti), JSON.stringify({ revoked_at: nowSeconds }), { expirationTtl: ttl });
  } catch (error) {
    throw unavailable("The revocation could not be recorded.", error);
  }
}

/**
 * Re-enabling a client: removes its `revoked:disabled:` entry, called only AFTER D1's `enabled = 1`
 * was committed — never before, so that no failure can leave a client disabled in D1 but enabled in
 * KV. If the delete fails the client stays disabled to introspection (fail closed) and the caller
 * gets a 503 saying so; enabling again repairs it (the delete is idempotent).
 */
export async function clearClientDisabled(kv: KVNamespace, clientId: string): Promise<void> {
  try {
    await kv.delete(disabledClientKey(clientId));
  } catch (error) {
    throw unavailable(
      "The client was enabled, but its tokens could not be made active again; enable it again to finish.",
      error,
    );
  }
}
