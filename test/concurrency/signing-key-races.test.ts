import { exports } from "cloudflare:workers";
import type { JSONWebKeySet } from "jose";
import { afterEach, beforeEach, describe, it, vi } from "vitest";
import { currentSigningKey, rotateSigningKeys, SIGNING_ALGS } from "../../src/keys/signing-keys";
import { keyDeps, otherSecret, ROTATE_MS, resetSigningKeys, storedKeys } from "../helpers/signing-keys";

// AS §5.3: concurrent isolates never create two keys for one slot. Twenty calls race against the
// real D1 through separately wrapped bindings (each its own handle and cold cache, as separate
// isolates would be); the (alg, slot) unique index and INSERT … ON CONFLICT DO NOTHING decide.

const RACERS = 20;
const T0 = Date.UTC(2026, 10, 28, 12, 0, 0);

/** Slots per algorithm, e.g. { ES256: [0], RS256: [0] }. */
async function slotsByAlg(): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const row of await storedKeys()) out[row.alg] = [...(out[row.alg] ?? []), row.slot];
  return out;
}

beforeEach(resetSigningKeys);

afterEach(() => {
  vi.restoreAllMocks();
});

describe("racing isolates", () => {
  it.for(SIGNING_ALGS)(
    "20 parallel first uses of %s create exactly one key and all sign with it",
    async (alg, { expect }) => {
      const racers = Array.from({ length: RACERS }, (_, i) => keyDeps(T0 + i));
      const keys = await Promise.all(racers.map(({ deps }) => currentSigningKey(deps, alg)));
      expect(new Set(keys.map((key) => key.kid)).size).toBe(1);
      expect(await slotsByAlg()).toEqual({ [alg]: [0] });
      // Not vacuous: several racers saw no key and tried to insert one.
      expect(racers.filter(({ counter }) => counter.calls.includes("batch")).length).toBeGreaterThan(1);
    },
  );

  it("20 parallel first JWKS requests create exactly one key per algorithm and all answer the same keys", async ({
    expect,
  }) => {
    const responses = await Promise.all(
      Array.from({ length: RACERS }, () => exports.default.fetch("http://gateway.test/oauth2/jwks")),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(RACERS).fill(200));
    const bodies = await Promise.all(responses.map(async (r) => (await r.json()) as JSONWebKeySet));
    const kidSets = new Set(bodies.map((body) => JSON.stringify(body.keys.map((key) => key.kid).sort())));
    expect(kidSets.size).toBe(1);
    expect(await slotsByAlg()).toEqual({ ES256: [0], RS256: [0] });
  });

  it("20 parallel rotations of the same slot add exactly one key per algorithm, reported once", async ({ expect }) => {
    await rotateSigningKeys(keyDeps(T0).deps);
    const T1 = T0 + ROTATE_MS;
    const racers = Array.from({ length: RACERS }, (_, i) => keyDeps(T1 + i));
    const reports = await Promise.all(racers.map(({ deps }) => rotateSigningKeys(deps)));
    expect(await slotsByAlg()).toEqual({ ES256: [0, 1], RS256: [0, 1] });
    expect(racers.filter(({ counter }) => counter.calls.includes("batch")).length).toBeGreaterThan(1);
    const created = reports.flatMap((report) => report.created);
    expect(created.map((c) => c.alg).sort()).toEqual(["ES256", "RS256"]);
    // Every racer retired the old keys with the same value: the winner's not_before + retention.
    const rows = await storedKeys();
    for (const alg of SIGNING_ALGS) {
      const [old, next] = rows.filter((row) => row.alg === alg);
      expect(next?.kid).toBe(created.find((c) => c.alg === alg)?.kid);
      expect(old?.retire_at).toBe((next?.not_before ?? 0) + 60_000 + 3_600_000 + 60_000);
    }
  });

  it("20 parallel replacements of an unreadable key add exactly one key", async ({ expect }) => {
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    await currentSigningKey(keyDeps(T0, { encryptionSecret: otherSecret() }).deps, "ES256");
    const racers = Array.from({ length: RACERS }, (_, i) => keyDeps(T0 + 1_000 + i));
    const keys = await Promise.all(racers.map(({ deps }) => currentSigningKey(deps, "ES256")));
    expect(new Set(keys.map((key) => key.kid)).size).toBe(1);
    expect(racers.filter(({ counter }) => counter.calls.includes("batch")).length).toBeGreaterThan(1);
    expect(await slotsByAlg()).toEqual({ ES256: [0, 1] });
  });
});
