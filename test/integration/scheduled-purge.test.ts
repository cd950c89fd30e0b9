import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, it, vi } from "vitest";
import { issueCode, redeemCode } from "../../src/authorization/codes";
import { createPendingRequest } from "../../src/authorization/pending-requests";
import worker from "../../src/index";
import { rotateSigningKeys } from "../../src/keys/signing-keys";
import { PURGE_LIMIT_PER_RUN, runScheduled } from "../../src/scheduled";
import {
  CODE_TTL_MS,
  codeInput,
  newOwner,
  pendingInput,
  REFRESH_TTL_MS,
  storeDeps,
  storedCodesOf,
  storedFamiliesOf,
  storedRequest,
} from "../helpers/authorization-store";
import { faultyD1 } from "../helpers/faults";
import { keyDeps, storedKeys } from "../helpers/signing-keys";

// The Cron Trigger's second job (AS §4 step 7, §5.2): the same run that rotates the signing keys
// purges expired authorization state through purgeExpired, at most PURGE_LIMIT_PER_RUN rows per
// table; the two jobs are independent (one failing never stops the other), each logs one JSON line,
// and a failure is rethrown after both ran. purgeExpired's own rules are in
// authorization-store-cleanup.test.ts. A file of its own: a purge deletes every due row of the
// database, and storage is isolated per file.

const CRON = "*/30 * * * *";
type LogLine = Record<string, unknown>;

/** Runs the worker's scheduled handler with `overrides` on its env; returns its log lines and error. */
async function runCron(overrides: Partial<Env> = {}): Promise<{ lines: LogLine[]; error?: unknown }> {
  const info = vi.spyOn(console, "log").mockImplementation(() => undefined);
  const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
  let error: unknown;
  try {
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: CRON }), {
      ...env,
      ...overrides,
    } as Env);
  } catch (e) {
    error = e;
  }
  const lines = [...info.mock.calls, ...errors.mock.calls].map(([line]) => JSON.parse(String(line)) as LogLine);
  info.mockRestore();
  errors.mockRestore();
  return { lines, error };
}

/** State that is due now: a pending request past its 10 minutes, a code and a family past the refresh TTL. */
async function seedExpiredState() {
  const owner = newOwner();
  const longAgo = Date.now() - REFRESH_TTL_MS - CODE_TTL_MS - 60_000;
  const request = await createPendingRequest(storeDeps(Date.now() - 700_000).deps, pendingInput(owner));
  const code = await issueCode(storeDeps(longAgo).deps, codeInput(owner));
  const redemption = await redeemCode(storeDeps(longAgo + 1_000).deps, code, owner.clientId);
  if (redemption.kind !== "redeemed") throw new Error(redemption.kind);
  // And one of each that is not due.
  const liveRequest = await createPendingRequest(storeDeps(Date.now()).deps, pendingInput(owner));
  return { owner, request, liveRequest };
}

const purgeLine = (lines: LogLine[]) => lines.find((line) => line.msg === "authorization store purge");
const rotationLine = (lines: LogLine[]) => lines.find((line) => line.msg === "signing key rotation");

afterEach(() => {
  vi.restoreAllMocks();
});

describe("the scheduled purge", () => {
  it("deletes what is due in the same run as the rotation, and logs one line for each job", async ({ expect }) => {
    const { owner, request, liveRequest } = await seedExpiredState();
    const { lines, error } = await runCron();
    expect(error).toBeUndefined();
    expect(lines).toHaveLength(2);
    expect(rotationLine(lines)).toMatchObject({ level: "info", cron: CRON });
    expect(purgeLine(lines)).toEqual({
      level: "info",
      msg: "authorization store purge",
      cron: CRON,
      scheduled_time: expect.any(Number),
      requests: 1,
      codes: 1,
      families: 1,
      duration_ms: expect.any(Number),
    });
    expect(await storedRequest(request.id)).toBeUndefined();
    expect(await storedRequest(liveRequest.id)).toBeDefined();
    expect(await storedCodesOf(owner.clientId)).toEqual([]);
    expect(await storedFamiliesOf(owner.clientId)).toEqual([]);
    // Nothing left to do on the next run.
    expect(purgeLine((await runCron()).lines)).toMatchObject({ requests: 0, codes: 0, families: 0 });
  });

  it(`deletes at most PURGE_LIMIT_PER_RUN (${PURGE_LIMIT_PER_RUN}) rows per table per run`, async ({ expect }) => {
    const owner = newOwner();
    const past = storeDeps(Date.now() - 700_000).deps;
    await Promise.all(
      Array.from({ length: PURGE_LIMIT_PER_RUN + 2 }, () => createPendingRequest(past, pendingInput(owner))),
    );
    vi.spyOn(console, "log").mockImplementation(() => undefined);
    const controller = createScheduledController({ scheduledTime: Date.now(), cron: CRON });
    expect((await runScheduled(controller, env)).purge).toEqual({
      requests: PURGE_LIMIT_PER_RUN,
      codes: 0,
      families: 0,
    });
    expect((await runScheduled(controller, env)).purge).toEqual({ requests: 2, codes: 0, families: 0 });
  });

  it("a failing rotation does not stop the purge: both logged, the rotation's error rethrown", async ({ expect }) => {
    const { request } = await seedExpiredState();
    const { lines, error } = await runCron({ SIGNING_KEY_ENCRYPTION_KEY: undefined } as Partial<Env>);
    expect(error).toBeDefined();
    expect(rotationLine(lines)).toMatchObject({
      level: "error",
      error: expect.stringContaining("SIGNING_KEY_ENCRYPTION_KEY is not set"),
    });
    expect(purgeLine(lines)).toMatchObject({ level: "info", requests: 1, codes: 1, families: 1 });
    expect(await storedRequest(request.id)).toBeUndefined();
  });

  it("a failing purge does not stop the rotation: both logged, the purge's error rethrown, nothing secret logged", async ({
    expect,
  }) => {
    // Keys due for rotation: its two batches (one per algorithm) go through, the purge's batch fails.
    await env.DB.prepare("DELETE FROM signing_keys").run();
    await rotateSigningKeys(keyDeps(Date.now() - 5 * 3_600_000).deps);
    const { request } = await seedExpiredState();
    const { db } = faultyD1(env.DB, { only: ["batch"], failFrom: 3 });
    const { lines, error } = await runCron({ DB: db });
    expect(error).toBeDefined();
    expect(rotationLine(lines)).toMatchObject({ level: "info", created: [{ slot: 1 }, { slot: 1 }] });
    expect(purgeLine(lines)).toMatchObject({ level: "error", error: expect.stringContaining("injected fault") });
    expect((await storedKeys()).filter((row) => row.slot === 1)).toHaveLength(2);
    // The purge changed nothing.
    expect(await storedRequest(request.id)).toBeDefined();
    const logged = JSON.stringify(lines);
    expect(logged).not.toContain(env.SIGNING_KEY_ENCRYPTION_KEY);
    expect(logged).not.toContain(env.CLIENT_SECRET_PEPPER);
  });

  it("both failing: both logged, an AggregateError with both errors", async ({ expect }) => {
    const { db } = faultyD1(env.DB, { only: ["batch"], failFrom: 1 });
    const { lines, error } = await runCron({ DB: db, SIGNING_KEY_ENCRYPTION_KEY: undefined } as Partial<Env>);
    expect(error).toBeInstanceOf(AggregateError);
    expect((error as AggregateError).errors).toHaveLength(2);
    expect(lines.map((line) => [line.msg, line.level])).toEqual([
      ["signing key rotation", "error"],
      ["authorization store purge", "error"],
    ]);
  });
});
