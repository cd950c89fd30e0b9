import { env } from "cloudflare:workers";
import type { JSONWebKeySet } from "jose";
import { beforeEach, describe, type ExpectStatic, it } from "vitest";
import { createDb } from "../../src/db/client";
import type { SigningAlg } from "../../src/db/schema";
import { signingKeySettings } from "../../src/keys/settings";
import { currentSigningKey, rotateSigningKeys, type SigningKeyDeps } from "../../src/keys/signing-keys";
import { HttpProblem } from "../../src/lib/problem";
import { appFetcher } from "../helpers/app";
import { faultyD1 } from "../helpers/faults";
import { ACCESS_TTL_MS, ROTATE_MS, resetSigningKeys, type StoredKey, storedKeys } from "../helpers/signing-keys";

/**
 * The fault sweep of signing-key rotation (issue 15, AS §5.3): the Cron Trigger's run fails at every
 * D1 step, and each key insert batch breaks at every position. Each algorithm's keys end as they
 * were, as the healthy run leaves them, or with the new key inserted but retired keys not yet deleted
 * (one insert batch per algorithm: a new key and the older keys' `retire_at` together, or neither;
 * the deletion is its own statement); the failure is a 503; the JWKS still serves every
 * key a token may be signed with; and the next run completes the rotation.
 */

const T0 = Date.UTC(2026, 10, 28, 12, 0, 0);
/** When the first keys are due for rotation. */
const T1 = T0 + ROTATE_MS + 1_000;
/** Long after: the superseded keys' retire_at has passed, so the run also deletes them. */
const T2 = T1 + ROTATE_MS + 2 * ACCESS_TTL_MS;

const ALGS: SigningAlg[] = ["ES256", "RS256"];

type D1Plan = Parameters<typeof faultyD1>[1];

function depsAt(now: number, plan: D1Plan = {}) {
  const { db, counter } = faultyD1(env.DB, plan);
  const deps: SigningKeyDeps = { db: createDb(db), now, signingKeys: signingKeySettings(env) };
  return { deps, counter };
}

/** Keys as comparable state: per algorithm, (kid, slot, retire_at), creation times aside. */
const shape = (rows: StoredKey[], alg: SigningAlg) =>
  rows.filter((r) => r.alg === alg).map((r) => [r.kid, r.slot, r.retire_at] as const);

/** The kids the JWKS lists at `now`, through a fresh binding (no isolate cache). */
async function jwksKids(now: number): Promise<string[]> {
  const fresh = faultyD1(env.DB).db;
  const response = await appFetcher({ clock: () => now, env: { DB: fresh } })(
    new Request("http://gateway.test/oauth2/jwks"),
  );
  if (response.status !== 200) throw new Error(`JWKS answered ${response.status}`);
  return ((await response.json()) as JSONWebKeySet).keys.map((k) => String(k.kid));
}

/** First keys at T0; optionally the rotation at T1 as well. Returns the stored keys. */
async function prepare(phase: "first" | "rotated"): Promise<StoredKey[]> {
  await resetSigningKeys();
  for (const alg of ALGS) await currentSigningKey(depsAt(T0).deps, alg);
  if (phase === "rotated") await rotateSigningKeys(depsAt(T1).deps);
  return storedKeys();
}

async function sweep(expect: ExpectStatic, phase: "first" | "rotated", at: number) {
  // The healthy run: its steps and what it leaves.
  const before = await prepare(phase);
  const clean = depsAt(at);
  await rotateSigningKeys(clean.deps);
  const healthy = await storedKeys();
  expect(healthy, "the healthy run changes something").not.toEqual(before);
  const steps = clean.counter.calls.length;
  const batches = clean.counter.calls.filter((c) => c === "batch").length;
  const plans: [string, D1Plan][] = [
    ...Array.from({ length: steps }, (_, i): [string, D1Plan] => [`D1 step ${i + 1}`, { failAt: i + 1 }]),
    ...Array.from({ length: batches > 0 ? 4 : 0 }, (_, k): [string, D1Plan] => [
      `batch broken at ${k}`,
      { breakBatchAt: k },
    ]),
  ];
  for (const [label, plan] of plans) {
    const start = await prepare(phase);
    const outcome = await rotateSigningKeys(depsAt(at, plan).deps).catch((error: unknown) => error);
    const after = await storedKeys();
    if (outcome instanceof Error) {
      expect(outcome, label).toBeInstanceOf(HttpProblem);
      expect((outcome as HttpProblem).init.status, label).toBe(503);
    }
    for (const alg of ALGS) {
      // Kids are random per run, so states compare by (slot, still signing-eligible). The insert of a
      // key (with the older keys' retire_at) is one batch and the deletion of retired keys another, so
      // each algorithm ends as before, as after the healthy run, or inserted but not yet cleaned up.
      const slots = (rows: StoredKey[]) => shape(rows, alg).map(([, slot, retire]) => [slot, retire === null]);
      const newest = Math.max(...shape(healthy, alg).map(([, slot]) => slot));
      const everySlot = new Set([...shape(start, alg), ...shape(healthy, alg)].map(([, slot]) => slot));
      const inserted = [...everySlot].sort((a, b) => a - b).map((slot) => [slot, slot === newest]);
      expect([slots(start), slots(healthy), inserted], `${label}: ${alg}`).toContainEqual(slots(after));
    }
    // Every key that can have signed a live token is still published.
    const kids = await jwksKids(at);
    for (const row of start.filter((r) => r.retire_at === null || r.retire_at > at))
      expect(kids, `${label}: ${row.kid} still published`).toContain(row.kid);
    // The next run completes the rotation.
    await rotateSigningKeys(depsAt(at).deps);
    const done = await storedKeys();
    for (const alg of ALGS) {
      const slots = (rows: StoredKey[]) => shape(rows, alg).map(([, slot, retire]) => [slot, retire === null]);
      expect(slots(done), `${label}: ${alg} after the next run`).toEqual(slots(healthy));
    }
  }
  return plans.length;
}

beforeEach(resetSigningKeys);

describe("signing-key rotation under faults", () => {
  it("rotation due (a new key per algorithm, the old ones given retire_at): every step and batch position", {
    timeout: 300_000,
  }, async ({ expect }) => {
    expect(await sweep(expect, "first", T1)).toBeGreaterThan(4);
  });

  it("retired keys due for deletion, and the next rotation: every step and batch position", {
    timeout: 300_000,
  }, async ({ expect }) => {
    expect(await sweep(expect, "rotated", T2)).toBeGreaterThan(4);
  });
});
