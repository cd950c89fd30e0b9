import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from "jose";
import type { Database } from "../db/client";
import type { PublicSigningJwk, SigningAlg, SigningKeyRow } from "../db/schema";
import { unavailable } from "../lib/problem";
import {
  cachedJwks,
  cachedSigningKey,
  forgetKeys,
  KEY_CACHE_MS,
  rememberJwks,
  rememberSigningKey,
  type SigningKey,
} from "./key-cache";
import { EncryptionKeyConfigError, importEncryptionKey, openPrivateJwk, sealPrivateJwk } from "./key-crypto";
import { deleteRetiredKeys, insertKeyRetiringOlder, keysOfAlg, publishedKeyRows } from "./key-store";
import type { SigningKeySettings } from "./settings";

/**
 * The authorization server's signing keys (AS §5.3): one ES256 and one RS256 key pair at a time,
 * created on first need, rotated by the Cron Trigger, published in the JWKS before they sign and
 * after they stop. Lifecycle and timings: docs/storage.md, table `signing_keys`.
 */

export type { SigningKey } from "./key-cache";

/** What the signing-key rules need; `ServiceDeps` carries the same members, a cron builds them itself. */
export type SigningKeyDeps = { db: Database; now: number; signingKeys: SigningKeySettings };

/** Every algorithm the authorization server keeps a key for (access tokens default to ES256, ID tokens RS256). */
export const SIGNING_ALGS: readonly SigningAlg[] = ["ES256", "RS256"];

/** `Cache-Control: max-age` of the JWKS (AS §2): how long a verifier may hold a copy. */
export const JWKS_CACHE_SECONDS = 300;

/**
 * How long a new key is published before it signs: a verifier's copy (`JWKS_CACHE_SECONDS`) may have
 * been fetched from an isolate whose own copy was up to `KEY_CACHE_MS` old, so every copy in the
 * field lists the key before any token it signed is seen.
 */
export const PUBLISH_BEFORE_USE_MS = JWKS_CACHE_SECONDS * 1000 + KEY_CACHE_MS;

/** Clock skew a verifier allows on `exp`. */
export const VERIFIER_SKEW_MS = 60_000;

/** Keys deleted per rotation run at most; more wait for the next run (they are no longer published). */
export const DELETE_PER_RUN = 20;

const PUBLIC_MEMBERS = { EC: ["kty", "crv", "x", "y"], RSA: ["kty", "n", "e"] } as const;

/**
 * How long a superseded key stays published after its successor may sign: isolates may sign with
 * it for `KEY_CACHE_MS` more, and its last token is valid for the access-token TTL plus skew.
 */
function retentionMs(settings: SigningKeySettings): number {
  return KEY_CACHE_MS + settings.accessTokenTtlMs + VERIFIER_SKEW_MS;
}

/** The AES key for the private halves; a missing or malformed secret fails closed (503, logged by the caller). */
async function encryptionKeyOf(settings: SigningKeySettings): Promise<{ key: CryptoKey; secret: string }> {
  try {
    const key = await importEncryptionKey(settings.encryptionSecret);
    return { key, secret: settings.encryptionSecret ?? "" };
  } catch (error) {
    if (error instanceof EncryptionKeyConfigError) throw unavailable("The signing keys are unavailable.", error);
    throw error;
  }
}

/**
 * Whether a key may sign at `now`. A key made to sign at once has `not_before = created_at`; it may
 * sign even for a request whose clock was read a moment before another isolate created it.
 */
function maySign(row: SigningKeyRow, now: number): boolean {
  const published = row.retireAt === null || row.retireAt > now;
  return published && row.notBefore <= Math.max(now, row.createdAt);
}

/** The decrypted key of a row, or undefined when this secret cannot open it. */
async function unseal(row: SigningKeyRow, encryptionKey: CryptoKey): Promise<SigningKey | undefined> {
  const jwk = await openPrivateJwk(encryptionKey, row.encryptedPrivateJwk, row.kid);
  if (!jwk) return undefined;
  const privateKey = (await importJWK(jwk, row.alg, { extractable: false })) as CryptoKey;
  return { kid: row.kid, alg: row.alg, privateKey };
}

/** Only the public members, plus `kid`, `alg`, `use`: nothing private can reach the JWKS column. */
function publicJwkOf(jwk: JWK, kid: string, alg: SigningAlg): PublicSigningJwk {
  const members = jwk.kty === "EC" ? PUBLIC_MEMBERS.EC : PUBLIC_MEMBERS.RSA;
  const picked = Object.fromEntries(members.map((name) => [name, jwk[name]]));
  return { ...picked, kty: String(jwk.kty), kid, alg, use: "sig" };
}

/**
 * Generates a key pair for the slot after `newest` and inserts it, retiring the older keys of its
 * algorithm. `signsAtOnce` when no key of the algorithm can sign now (first use, or every key is
 * unreadable): there is no older key to hand over from, so waiting would only refuse tokens.
 * Returns the row now holding that slot (this one, or the one a racing isolate inserted first).
 */
async function addKey(
  deps: SigningKeyDeps,
  alg: SigningAlg,
  newest: SigningKeyRow | undefined,
  encryptionKey: CryptoKey,
  signsAtOnce: boolean,
): Promise<{ row: SigningKeyRow; inserted: boolean }> {
  const pair = await generateKeyPair(alg, { extractable: true, ...(alg === "RS256" ? { modulusLength: 2048 } : {}) });
  const publicJwk = await exportJWK(pair.publicKey);
  const kid = await calculateJwkThumbprint(publicJwk, "sha256");
  const row: SigningKeyRow = {
    kid,
    alg,
    slot: (newest?.slot ?? -1) + 1,
    publicJwk: publicJwkOf(publicJwk, kid, alg),
    encryptedPrivateJwk: await sealPrivateJwk(encryptionKey, await exportJWK(pair.privateKey), kid),
    createdAt: deps.now,
    notBefore: signsAtOnce ? deps.now : deps.now + PUBLISH_BEFORE_USE_MS,
    retireAt: null,
  };
  const inserted = await insertKeyRetiringOlder(deps.db, row, retentionMs(deps.signingKeys));
  // This isolate's JWKS no longer lists every key.
  forgetKeys(deps.db);
  if (inserted) return { row, inserted };
  const winner = (await keysOfAlg(deps.db, alg)).find((other) => other.slot === row.slot);
  if (!winner) throw unavailable("The signing keys changed while a key was being added; try again.");
  return { row: winner, inserted };
}

function logUnreadable(row: SigningKeyRow): void {
  console.error(
    JSON.stringify({
      level: "error",
      msg: "signing key cannot be decrypted with SIGNING_KEY_ENCRYPTION_KEY; a new key replaces it",
      kid: row.kid,
      alg: row.alg,
    }),
  );
}

/**
 * The key that signs now for `alg`: the newest key whose `not_before` has passed. Creates the first
 * key on first need, and replaces a current key this secret cannot decrypt (docs/deployment.md).
 * A warm call (same isolate, within `KEY_CACHE_MS`) touches no storage.
 */
export async function currentSigningKey(deps: SigningKeyDeps, alg: SigningAlg): Promise<SigningKey> {
  const { key: encryptionKey, secret } = await encryptionKeyOf(deps.signingKeys);
  const cached = cachedSigningKey(deps.db, secret, alg, deps.now);
  if (cached) return cached;
  // Three rounds: each either finds a key or adds one; only racing isolates with another secret get here thrice.
  for (let round = 0; round < 3; round++) {
    const rows = await keysOfAlg(deps.db, alg);
    const candidate = rows.find((row) => maySign(row, deps.now));
    if (candidate) {
      const key = await unseal(candidate, encryptionKey);
      if (key) {
        rememberSigningKey(deps.db, secret, deps.now, key);
        return key;
      }
      logUnreadable(candidate);
    }
    const { row } = await addKey(deps, alg, rows[0], encryptionKey, true);
    const key = maySign(row, deps.now) ? await unseal(row, encryptionKey) : undefined;
    if (key) {
      rememberSigningKey(deps.db, secret, deps.now, key);
      return key;
    }
  }
  throw unavailable("No signing key is available.");
}

/**
 * Every public key not yet past its `retire_at`: what GET /oauth2/jwks publishes, newest first per
 * algorithm. Makes sure each algorithm has a key. Fails closed (503) without a valid encryption
 * secret even when keys exist, so a misconfigured deployment is noticed at once. A warm call touches
 * no storage.
 */
export async function publishedKeys(deps: SigningKeyDeps): Promise<PublicSigningJwk[]> {
  const { secret } = await encryptionKeyOf(deps.signingKeys);
  const cached = cachedJwks(deps.db, secret, deps.now);
  if (cached) return cached;
  let rows = await publishedKeyRows(deps.db, deps.now);
  const missing = SIGNING_ALGS.filter((alg) => !rows.some((row) => row.alg === alg));
  if (missing.length > 0) {
    for (const alg of missing) await currentSigningKey(deps, alg);
    rows = await publishedKeyRows(deps.db, deps.now);
  }
  const keys = rows.map((row) => row.publicJwk);
  rememberJwks(deps.db, secret, deps.now, keys);
  return keys;
}

/** What one rotation run did, for its log line: keys are named by their public `kid` only. */
export type RotationReport = {
  created: { alg: SigningAlg; kid: string; slot: number; not_before: number }[];
  deleted: string[];
};

/**
 * The Cron Trigger's work (AS §5.3), safe to run concurrently. Per algorithm: without a key that
 * can sign now (none yet, or unreadable with this secret), add one that signs at once; otherwise,
 * when the newest key is older than `SIGNING_KEY_ROTATE_SECONDS`, add the next one, published
 * `PUBLISH_BEFORE_USE_MS` before it signs. Adding a key sets `retire_at` on the older ones. Then
 * deletes at most `DELETE_PER_RUN` keys whose `retire_at` has passed.
 */
export async function rotateSigningKeys(deps: SigningKeyDeps): Promise<RotationReport> {
  const { key: encryptionKey } = await encryptionKeyOf(deps.signingKeys);
  const report: RotationReport = { created: [], deleted: [] };
  for (const alg of SIGNING_ALGS) {
    const rows = await keysOfAlg(deps.db, alg);
    const newest = rows[0];
    const signer = rows.find((row) => maySign(row, deps.now));
    const readable = signer !== undefined && (await unseal(signer, encryptionKey)) !== undefined;
    if (signer && !readable) logUnreadable(signer);
    const due = newest !== undefined && deps.now - newest.createdAt >= deps.signingKeys.rotateAfterMs;
    if (readable && !due) continue;
    const { row, inserted } = await addKey(deps, alg, newest, encryptionKey, !readable);
    if (inserted) report.created.push({ alg, kid: row.kid, slot: row.slot, not_before: row.notBefore });
  }
  report.deleted = await deleteRetiredKeys(deps.db, deps.now, DELETE_PER_RUN);
  forgetKeys(deps.db);
  return report;
}
