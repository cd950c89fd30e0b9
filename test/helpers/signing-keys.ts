import { env } from "cloudflare:workers";
import { base64url } from "jose";
import { createDb } from "../../src/db/client";
import { type SigningKeySettings, signingKeySettings } from "../../src/keys/settings";
import type { SigningKeyDeps } from "../../src/keys/signing-keys";
import { faultyD1 } from "./faults";

/**
 * The signing keys (src/keys/) in tests. `signing_keys` is one table for the whole gateway, not
 * per tenant, so data isolation by ids is impossible: a test that depends on which keys exist
 * starts with `resetSigningKeys()` (tests in a file run one after another). Each `keyDeps` call
 * wraps the D1 binding afresh, which gives it its own Drizzle handle and therefore a cold
 * per-isolate key cache, and counts its D1 operations.
 */

/** A row of `signing_keys` as D1 returns it. */
export type StoredKey = {
  kid: string;
  alg: "ES256" | "RS256";
  slot: number;
  public_jwk: string;
  encrypted_private_jwk: string;
  created_at: number;
  not_before: number;
  retire_at: number | null;
};

export const ROTATE_MS = 14_400_000;
export const ACCESS_TTL_MS = 3_600_000;
/** The key every test uses (vitest.config.ts). */
export const TEST_SECRET = env.SIGNING_KEY_ENCRYPTION_KEY;

/** A well-formed encryption secret that is not the configured one. */
export function otherSecret(): string {
  return base64url.encode(crypto.getRandomValues(new Uint8Array(32)));
}

export async function resetSigningKeys(): Promise<void> {
  await env.DB.prepare("DELETE FROM signing_keys").run();
}

/** Every stored key, by algorithm and slot. */
export async function storedKeys(): Promise<StoredKey[]> {
  const { results } = await env.DB.prepare("SELECT * FROM signing_keys ORDER BY alg, slot").all<StoredKey>();
  return results;
}

/** Dependencies at `now` over a freshly wrapped (counting, cold-cache) D1 binding. */
export function keyDeps(now: number, settings: Partial<SigningKeySettings> = {}) {
  const { db, counter } = faultyD1(env.DB);
  const deps: SigningKeyDeps = {
    db: createDb(db),
    now,
    signingKeys: { ...signingKeySettings(env), ...settings },
  };
  return { deps, counter, binding: db };
}
