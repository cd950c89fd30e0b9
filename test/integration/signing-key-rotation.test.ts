import { env } from "cloudflare:workers";
import type { JSONWebKeySet } from "jose";
import { afterEach, beforeEach, describe, it, vi } from "vitest";
import type { SigningAlg } from "../../src/db/schema";
import { KEY_CACHE_MS } from "../../src/keys/key-cache";
import {
  currentSigningKey,
  DELETE_PER_RUN,
  JWKS_CACHE_SECONDS,
  PUBLISH_BEFORE_USE_MS,
  publishedKeys,
  rotateSigningKeys,
  SIGNING_ALGS,
  VERIFIER_SKEW_MS,
} from "../../src/keys/signing-keys";
import { appFetcher } from "../helpers/app";
import {
  ACCESS_TTL_MS,
  keyDeps,
  otherSecret,
  ROTATE_MS,
  resetSigningKeys,
  type StoredKey,
  storedKeys,
} from "../helpers/signing-keys";

// The signing keys' lifecycle (AS §5.3, docs/storage.md) with an injected clock against the real
// D1: first use, rotation by the Cron Trigger's rule, publication before use, retirement after the
// last token expires, deletion, and replacement of keys the secret cannot decrypt. The table is
// global, so each test starts from an empty one.

const T0 = Date.UTC(2026, 10, 28, 12, 0, 0);
/** When a key superseded by a successor that signs from `notBefore` leaves the JWKS (1 h tokens). */
const retireAtFor = (notBefore: number, ttl = ACCESS_TTL_MS) => notBefore + KEY_CACHE_MS + ttl + VERIFIER_SKEW_MS;

const byAlg = (rows: StoredKey[], alg: SigningAlg) => rows.filter((row) => row.alg === alg);

/** The kids GET /oauth2/jwks lists at `now` (a fresh binding, so no isolate cache). */
async function jwksKidsAt(now: number): Promise<string[]> {
  const { binding } = keyDeps(now);
  const response = await appFetcher({ clock: () => now, env: { DB: binding } })(
    new Request("http://gateway.test/oauth2/jwks"),
  );
  if (response.status !== 200) throw new Error(`JWKS answered ${response.status}`);
  return ((await response.json()) as JSONWebKeySet).keys.map((key) => String(key.kid));
}

const signerAt = async (now: number, alg: SigningAlg) => (await currentSigningKey(keyDeps(now).deps, alg)).kid;

beforeEach(resetSigningKeys);

afterEach(() => {
  vi.restoreAllMocks();
});

describe("first use", () => {
  it("creates one key per algorithm, signing at once, when the first token or JWKS needs it", async ({ expect }) => {
    const key = await currentSigningKey(keyDeps(T0).deps, "ES256");
    let rows = await storedKeys();
    expect(rows).toEqual([
      expect.objectContaining({ kid: key.kid, alg: "ES256", slot: 0, created_at: T0, not_before: T0, retire_at: null }),
    ]);
    // The JWKS adds the missing RS256 key and lists both.
    expect(await jwksKidsAt(T0 + 1)).toHaveLength(2);
    rows = await storedKeys();
    expect(rows.map((row) => [row.alg, row.slot, row.not_before === row.created_at])).toEqual([
      ["ES256", 0, true],
      ["RS256", 0, true],
    ]);
  });
});

describe("rotation (what the Cron Trigger runs)", () => {
  it("does nothing before the newest key is SIGNING_KEY_ROTATE_SECONDS old", async ({ expect }) => {
    const seeded = await rotateSigningKeys(keyDeps(T0).deps);
    expect(seeded.created.map((c) => [c.alg, c.slot, c.not_before])).toEqual([
      ["ES256", 0, T0],
      ["RS256", 0, T0],
    ]);
    const before = await storedKeys();
    for (const at of [T0 + 1, T0 + ROTATE_MS / 2, T0 + ROTATE_MS - 1]) {
      expect(await rotateSigningKeys(keyDeps(at).deps)).toEqual({ created: [], deleted: [] });
    }
    expect(await storedKeys()).toEqual(before);
  });

  it("publishes the next key at least 300 s before it signs, and keeps the old one until its tokens expire", async ({
    expect,
  }) => {
    await rotateSigningKeys(keyDeps(T0).deps);
    const old = await storedKeys();
    const T1 = T0 + ROTATE_MS;

    const report = await rotateSigningKeys(keyDeps(T1).deps);
    expect(report.created.map((c) => [c.alg, c.slot, c.not_before])).toEqual([
      ["ES256", 1, T1 + PUBLISH_BEFORE_USE_MS],
      ["RS256", 1, T1 + PUBLISH_BEFORE_USE_MS],
    ]);
    const rows = await storedKeys();
    for (const alg of SIGNING_ALGS) {
      const [previous, next] = byAlg(rows, alg);
      const oldKid = byAlg(old, alg)[0]?.kid;
      const newKid = next?.kid ?? "";
      expect(previous?.kid).toBe(oldKid);
      expect(previous?.retire_at).toBe(retireAtFor(T1 + PUBLISH_BEFORE_USE_MS));
      expect(next?.retire_at).toBeNull();

      // Published from the moment it exists…
      expect(await jwksKidsAt(T1)).toEqual(expect.arrayContaining([oldKid, newKid]));
      // …signs only after the JWKS cache time has passed, and the old key signs until then.
      expect(await signerAt(T1, alg)).toBe(oldKid);
      expect(await signerAt(T1 + PUBLISH_BEFORE_USE_MS - 1, alg)).toBe(oldKid);
      expect(await signerAt(T1 + PUBLISH_BEFORE_USE_MS, alg)).toBe(newKid);
      expect(PUBLISH_BEFORE_USE_MS).toBeGreaterThanOrEqual(JWKS_CACHE_SECONDS * 1000);

      // The old key stays published until retire_at, then disappears.
      const retireAt = previous?.retire_at ?? 0;
      expect(await jwksKidsAt(retireAt - 1)).toEqual(expect.arrayContaining([oldKid, newKid]));
      expect(await jwksKidsAt(retireAt)).not.toContain(oldKid);
      expect(await jwksKidsAt(retireAt)).toContain(newKid);
    }
    // A token signed by the old key at the last moment an isolate may still use it is verifiable
    // until it expires (plus the verifier's skew).
    const lastSignature = T1 + PUBLISH_BEFORE_USE_MS + KEY_CACHE_MS;
    expect(byAlg(rows, "ES256")[0]?.retire_at).toBeGreaterThanOrEqual(lastSignature + ACCESS_TTL_MS + VERIFIER_SKEW_MS);

    // The next run after retire_at deletes the old keys; the new ones stay.
    const retireAt = byAlg(rows, "ES256")[0]?.retire_at ?? 0;
    const cleanup = await rotateSigningKeys(keyDeps(retireAt).deps);
    expect(cleanup.created).toEqual([]);
    expect(new Set(cleanup.deleted)).toEqual(new Set(old.map((row) => row.kid)));
    expect((await storedKeys()).map((row) => [row.alg, row.slot])).toEqual([
      ["ES256", 1],
      ["RS256", 1],
    ]);
  });

  it("keeps every isolate's JWKS showing a new key for 300 s before it signs, despite the isolate cache", async ({
    expect,
  }) => {
    await rotateSigningKeys(keyDeps(T0).deps);
    const T1 = T0 + ROTATE_MS;
    // An isolate that read the JWKS just before the rotation keeps that copy for a minute.
    const isolate = keyDeps(T1 - 1).deps;
    const stale = await publishedKeys(isolate);
    await rotateSigningKeys(keyDeps(T1).deps);
    const newKids = (await storedKeys()).filter((row) => row.slot === 1).map((row) => row.kid);
    expect(await publishedKeys({ ...isolate, now: T1 - 1 + KEY_CACHE_MS - 1 })).toEqual(stale);
    const firstSeen = T1 - 1 + KEY_CACHE_MS;
    const fresh = (await publishedKeys({ ...isolate, now: firstSeen })).map((key) => key.kid);
    expect(fresh).toEqual(expect.arrayContaining(newKids));
    // The earliest moment any isolate signs with the new key, and the latest a verifier's copy can lack it.
    const firstSigned = T1 + PUBLISH_BEFORE_USE_MS;
    expect(await signerAt(firstSigned, "ES256")).toBe(newKids[0]);
    expect(firstSigned - firstSeen).toBeGreaterThanOrEqual(JWKS_CACHE_SECONDS * 1000);
  });

  it("drops this isolate's cached keys when it rotates them", async ({ expect }) => {
    await rotateSigningKeys(keyDeps(T0).deps);
    const T1 = T0 + ROTATE_MS;
    const { deps, counter } = keyDeps(T1 - 1_000);
    await publishedKeys(deps);
    await rotateSigningKeys({ ...deps, now: T1 });
    const reads = counter.calls.length;
    const keys = await publishedKeys({ ...deps, now: T1 + 1 });
    expect(counter.calls.length).toBeGreaterThan(reads);
    expect(keys).toHaveLength(4);
  });

  it("keeps a retired key as long as ACCESS_TOKEN_TTL_SECONDS says", async ({ expect }) => {
    const ttl = 900_000;
    await rotateSigningKeys(keyDeps(T0, { accessTokenTtlMs: ttl }).deps);
    const T1 = T0 + ROTATE_MS;
    await rotateSigningKeys(keyDeps(T1, { accessTokenTtlMs: ttl }).deps);
    const retired = (await storedKeys()).filter((row) => row.slot === 0);
    expect(retired.map((row) => row.retire_at)).toEqual([
      retireAtFor(T1 + PUBLISH_BEFORE_USE_MS, ttl),
      retireAtFor(T1 + PUBLISH_BEFORE_USE_MS, ttl),
    ]);
  });

  it("deletes at most 20 expired keys per run, oldest first, and never a published one", async ({ expect }) => {
    await rotateSigningKeys(keyDeps(T0).deps);
    const live = await storedKeys();
    // 25 keys retired long ago (their tokens have expired); only their kids and times matter here.
    await env.DB.batch(
      Array.from({ length: 25 }, (_, i) =>
        env.DB.prepare(
          `INSERT INTO signing_keys (kid, alg, slot, public_jwk, encrypted_private_jwk, created_at, not_before, retire_at)
           VALUES (?, 'RS256', ?, '{}', 'a256gcm.v1$x.y', 1, 1, ?)`,
        ).bind(`expired-${String(i).padStart(2, "0")}`, -100 + i, T0 - 1_000_000 + i),
      ),
    );
    const first = await rotateSigningKeys(keyDeps(T0 + 1).deps);
    expect(first.deleted).toHaveLength(DELETE_PER_RUN);
    expect(new Set(first.deleted)).toEqual(
      new Set(Array.from({ length: 20 }, (_, i) => `expired-${String(i).padStart(2, "0")}`)),
    );
    const second = await rotateSigningKeys(keyDeps(T0 + 2).deps);
    expect(second.deleted.sort()).toEqual(["expired-20", "expired-21", "expired-22", "expired-23", "expired-24"]);
    expect(await storedKeys()).toEqual(live);
  });
});

describe("a key the configured secret cannot decrypt (SIGNING_KEY_ENCRYPTION_KEY changed)", () => {
  it("is replaced by a key that signs at once, and stays published until its tokens expire", async ({ expect }) => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const previousSecret = otherSecret();
    const old = await currentSigningKey(keyDeps(T0, { encryptionSecret: previousSecret }).deps, "ES256");
    const T1 = T0 + 10_000;

    const replacement = await currentSigningKey(keyDeps(T1).deps, "ES256");
    expect(replacement.kid).not.toBe(old.kid);
    const [oldRow, newRow] = byAlg(await storedKeys(), "ES256");
    expect(newRow).toMatchObject({ kid: replacement.kid, slot: 1, created_at: T1, not_before: T1, retire_at: null });
    expect(oldRow).toMatchObject({ kid: old.kid, retire_at: retireAtFor(T1) });
    expect(await jwksKidsAt(T1)).toEqual(expect.arrayContaining([old.kid, replacement.kid]));
    const logged = errors.mock.calls.map(([line]) => JSON.parse(String(line)) as Record<string, unknown>);
    expect(logged).toContainEqual(expect.objectContaining({ level: "error", kid: old.kid, alg: "ES256" }));
    expect(JSON.stringify(logged)).not.toContain(previousSecret);
  });

  it("is replaced by the rotation run too, before the period is over", async ({ expect }) => {
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    await rotateSigningKeys(keyDeps(T0, { encryptionSecret: otherSecret() }).deps);
    const report = await rotateSigningKeys(keyDeps(T0 + 60_000).deps);
    expect(report.created.map((c) => [c.alg, c.slot, c.not_before])).toEqual([
      ["ES256", 1, T0 + 60_000],
      ["RS256", 1, T0 + 60_000],
    ]);
    for (const alg of SIGNING_ALGS) {
      expect(await signerAt(T0 + 60_000, alg)).toBe(report.created.find((c) => c.alg === alg)?.kid);
    }
  });
});
