import type { Database } from "../db/client";
import type { PublicSigningJwk, SigningAlg } from "../db/schema";

/**
 * The per-isolate memory of the signing keys: the JWKS and each algorithm's current signing key,
 * for `KEY_CACHE_MS`. DocSpace reads the JWKS on every API call (AS §2), so a warm read must not
 * touch D1. Staleness is bounded and accounted for: a key waits `KEY_CACHE_MS` longer before it
 * signs, and a retired key stays published `KEY_CACHE_MS` longer (signing-keys.ts, docs/storage.md).
 *
 * Entries are per database handle (so a test's wrapped binding starts cold), and per encryption
 * secret (a decrypted key is never served under another secret).
 */

/** How long an isolate trusts what it read. */
export const KEY_CACHE_MS = 60_000;

/** A decrypted signing key, ready for jose; the private key is a non-extractable CryptoKey. */
export type SigningKey = { kid: string; alg: SigningAlg; privateKey: CryptoKey };

type Entry<T> = { value: T; loadedAt: number; secret: string };

type KeyCache = { jwks?: Entry<PublicSigningJwk[]>; signing: Map<SigningAlg, Entry<SigningKey>> };

const caches = new WeakMap<Database, KeyCache>();

function cacheOf(db: Database): KeyCache {
  let cache = caches.get(db);
  if (!cache) {
    cache = { signing: new Map() };
    caches.set(db, cache);
  }
  return cache;
}

/** Fresh when read under the same secret within `KEY_CACHE_MS`; a clock that went back counts as stale. */
function fresh<T>(entry: Entry<T> | undefined, secret: string, now: number): T | undefined {
  if (!entry || entry.secret !== secret) return undefined;
  return now >= entry.loadedAt && now < entry.loadedAt + KEY_CACHE_MS ? entry.value : undefined;
}

/** The JWKS this isolate read less than `KEY_CACHE_MS` ago, if any. */
export function cachedJwks(db: Database, secret: string, now: number): PublicSigningJwk[] | undefined {
  return fresh(cacheOf(db).jwks, secret, now);
}

export function rememberJwks(db: Database, secret: string, now: number, keys: PublicSigningJwk[]): void {
  cacheOf(db).jwks = { value: keys, loadedAt: now, secret };
}

/** The algorithm's signing key this isolate decrypted less than `KEY_CACHE_MS` ago, if any. */
export function cachedSigningKey(db: Database, secret: string, alg: SigningAlg, now: number): SigningKey | undefined {
  return fresh(cacheOf(db).signing.get(alg), secret, now);
}

export function rememberSigningKey(db: Database, secret: string, now: number, key: SigningKey): void {
  cacheOf(db).signing.set(key.alg, { value: key, loadedAt: now, secret });
}

/** Drops everything this isolate remembers about the keys of `db` (after it changed them). */
export function forgetKeys(db: Database): void {
  caches.delete(db);
}
