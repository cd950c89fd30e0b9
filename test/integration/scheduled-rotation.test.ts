import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, it, vi } from "vitest";
import worker from "../../src/index";
import { rotateSigningKeys } from "../../src/keys/signing-keys";
import { keyDeps, resetSigningKeys, storedKeys } from "../helpers/signing-keys";

// The Cron Trigger (wrangler.toml `[triggers]`, AS §5.3): the worker's `scheduled` export builds
// its dependencies without a request, rotates the signing keys, and logs one JSON line — or logs
// the error and fails the invocation. Its vars fall back to their defaults when invalid (AS §11).

const CRON = "*/30 * * * *";
const HOURS = 3_600_000;

type LogLine = Record<string, unknown>;

/** Runs the worker's scheduled handler now, with `overrides` on its env; returns its log lines. */
async function runCron(overrides: Partial<Env> = {}): Promise<{ lines: LogLine[]; error?: unknown }> {
  const info = vi.spyOn(console, "log").mockImplementation(() => undefined);
  const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
  const controller = createScheduledController({ scheduledTime: Date.now(), cron: CRON });
  let error: unknown;
  try {
    await worker.scheduled(controller, { ...env, ...overrides } as Env);
  } catch (e) {
    error = e;
  }
  // The same run purges the authorization store (scheduled-purge.test.ts); only the rotation's line here.
  const lines = [...info.mock.calls, ...errors.mock.calls]
    .map(([line]) => JSON.parse(String(line)) as LogLine)
    .filter((line) => line.msg === "signing key rotation");
  info.mockRestore();
  errors.mockRestore();
  return { lines, error };
}

/** Keys as they would be five hours after a first rotation: due for the next one. */
async function seedKeysCreatedHoursAgo(hours: number): Promise<void> {
  await rotateSigningKeys(keyDeps(Date.now() - hours * HOURS).deps);
}

beforeEach(resetSigningKeys);

afterEach(() => {
  vi.restoreAllMocks();
});

describe("the scheduled handler", () => {
  it("creates the first keys when there are none, and logs what it did", async ({ expect }) => {
    const { lines, error } = await runCron();
    expect(error).toBeUndefined();
    const rows = await storedKeys();
    expect(rows.map((row) => [row.alg, row.slot])).toEqual([
      ["ES256", 0],
      ["RS256", 0],
    ]);
    expect(lines).toEqual([
      expect.objectContaining({
        level: "info",
        msg: "signing key rotation",
        cron: CRON,
        created: rows.map((row) => ({ alg: row.alg, kid: row.kid, slot: row.slot, not_before: row.not_before })),
        deleted: [],
        duration_ms: expect.any(Number),
      }),
    ]);
  });

  it("rotates keys older than SIGNING_KEY_ROTATE_SECONDS (4 h) and leaves younger ones alone", async ({ expect }) => {
    await seedKeysCreatedHoursAgo(3);
    expect((await runCron()).lines[0]).toMatchObject({ created: [], deleted: [] });
    await resetSigningKeys();
    await seedKeysCreatedHoursAgo(5);
    const { lines } = await runCron();
    expect(lines[0]).toMatchObject({
      level: "info",
      created: [
        { alg: "ES256", slot: 1 },
        { alg: "RS256", slot: 1 },
      ],
    });
    const rows = await storedKeys();
    expect(rows.filter((row) => row.slot === 0).every((row) => row.retire_at !== null)).toBe(true);
    expect(rows.filter((row) => row.slot === 1).every((row) => row.not_before > Date.now())).toBe(true);
  });

  it("honours SIGNING_KEY_ROTATE_SECONDS and falls back to 4 h when it is invalid", async ({ expect }) => {
    await seedKeysCreatedHoursAgo(5);
    // A day: five-hour-old keys are not due.
    expect((await runCron({ SIGNING_KEY_ROTATE_SECONDS: "86400" })).lines[0]).toMatchObject({ created: [] });
    // Two hours: due.
    await resetSigningKeys();
    await seedKeysCreatedHoursAgo(3);
    expect((await runCron({ SIGNING_KEY_ROTATE_SECONDS: "7200" })).lines[0]).toMatchObject({
      created: [{ slot: 1 }, { slot: 1 }],
    });
    // Invalid: the default 4 h applies, so three-hour-old keys stay and five-hour-old ones rotate.
    await resetSigningKeys();
    await seedKeysCreatedHoursAgo(3);
    expect((await runCron({ SIGNING_KEY_ROTATE_SECONDS: "soon" })).lines[0]).toMatchObject({ created: [] });
    await resetSigningKeys();
    await seedKeysCreatedHoursAgo(5);
    expect((await runCron({ SIGNING_KEY_ROTATE_SECONDS: "-1" })).lines[0]).toMatchObject({
      created: [{ slot: 1 }, { slot: 1 }],
    });
  });

  it("uses ACCESS_TOKEN_TTL_SECONDS for the retirement, falling back to 1 h when it is invalid", async ({ expect }) => {
    await seedKeysCreatedHoursAgo(5);
    await runCron({ ACCESS_TOKEN_TTL_SECONDS: "600" });
    let rows = await storedKeys();
    let next = rows.find((row) => row.slot === 1);
    expect(rows.find((row) => row.slot === 0)?.retire_at).toBe((next?.not_before ?? 0) + 60_000 + 600_000 + 60_000);
    await resetSigningKeys();
    await seedKeysCreatedHoursAgo(5);
    await runCron({ ACCESS_TOKEN_TTL_SECONDS: "an hour" });
    rows = await storedKeys();
    next = rows.find((row) => row.slot === 1);
    expect(rows.find((row) => row.slot === 0)?.retire_at).toBe((next?.not_before ?? 0) + 60_000 + 3_600_000 + 60_000);
  });

  it("logs and rethrows a failure (a missing SIGNING_KEY_ENCRYPTION_KEY), changing nothing", async ({ expect }) => {
    await seedKeysCreatedHoursAgo(5);
    const before = await storedKeys();
    const { lines, error } = await runCron({ SIGNING_KEY_ENCRYPTION_KEY: undefined } as Partial<Env>);
    expect(error).toBeDefined();
    expect(lines).toEqual([
      expect.objectContaining({
        level: "error",
        msg: "signing key rotation",
        error: expect.stringContaining("SIGNING_KEY_ENCRYPTION_KEY is not set"),
      }),
    ]);
    expect(await storedKeys()).toEqual(before);
  });
});
