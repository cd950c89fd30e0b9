import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import { createDb } from "../../src/db/client";
import { isUniqueViolation } from "../../src/db/errors";
import { rotationStatements } from "../../src/services/secret-rotation";
import { call } from "../helpers/api";
import { appFetcher, manualClock } from "../helpers/app";
import { faultyD1 } from "../helpers/faults";
import { authenticateStatus } from "../helpers/service";
import { type Caller, newCaller } from "../helpers/signature";
import { auditEventsFor, createClientVia, storedClient, storedSecrets } from "../helpers/stored-state";

// PATCH /api/2.0/clients/{clientId}/regenerate?grace_period=SECONDS (issue 4): the previous secret
// keeps authenticating until its own expiry, to the second; at most five previous secrets live at
// once; expired ones stop at once and are purged. Bad input changes nothing.

const T0 = Date.UTC(2026, 10, 28, 12, 0, 0);
const HOUR = 3_600_000;

async function setup(caller: Caller = newCaller("USER")) {
  const clock = manualClock(T0);
  const fetcher = appFetcher({ clock: clock.now });
  const client = await createClientVia(fetcher, caller);
  const regenerate = async (grace?: number | string) => {
    const query = grace === undefined ? "" : `?grace_period=${grace}`;
    return call("PATCH", `/clients/${client.client_id}/regenerate${query}`, { caller, fetcher });
  };
  const rotate = async (grace: number) => {
    const res = await regenerate(grace);
    if (res.status !== 200) throw new Error(`regenerate failed: ${res.status} ${await res.text()}`);
    return (await res.json()) as { client_secret: string; previous_secret_expires_at?: string };
  };
  const authenticates = async (secret: string) => (await authenticateStatus(client.client_id, secret, fetcher)) === 200;
  return { clock, fetcher, client, caller, regenerate, rotate, authenticates };
}

describe("grace period: bounds", () => {
  it.for([["-1"], ["604801"], ["1.5"], ["abc"], [""], ["1e3"], ["99999999999999999999"], ["%200"]] as const)(
    "grace_period=%s is 400 and changes nothing",
    async ([grace], { expect }) => {
      const { client, regenerate, authenticates } = await setup();
      const secretsBefore = await storedSecrets(client.client_id);
      const clientBefore = await storedClient(client.client_id);
      const res = await regenerate(grace);
      expect(res.status).toBe(400);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      const problem = (await res.json()) as { errors: { field: string }[] };
      expect(problem.errors.map((e) => e.field)).toEqual(["grace_period"]);
      expect(await storedSecrets(client.client_id)).toEqual(secretsBefore);
      expect(await storedClient(client.client_id)).toEqual(clientBefore);
      expect((await auditEventsFor(client.client_id)).map((e) => e.action)).toEqual([9901]);
      expect(await authenticates(client.client_secret)).toBe(true);
    },
  );

  it.for([0, 1, 604_800])("grace_period=%i is accepted", async (grace, { expect }) => {
    const { rotate } = await setup();
    const body = await rotate(grace);
    expect(body.client_secret).toMatch(/^[A-Za-z0-9]{36}$/);
    if (grace === 0) expect(Object.keys(body)).toEqual(["client_secret"]);
    else expect(body.previous_secret_expires_at).toBe(new Date(T0 + grace * 1000).toISOString());
  });

  it("without grace_period (DocSpace's call) the old secret stops at once and the response is unchanged", async ({
    expect,
  }) => {
    const { client, regenerate, authenticates } = await setup();
    const res = await regenerate();
    const body = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(["client_secret"]);
    expect(await authenticates(client.client_secret)).toBe(false);
    expect(await authenticates(body.client_secret as string)).toBe(true);
    expect(await storedSecrets(client.client_id)).toHaveLength(1);
  });
});

describe("grace period: per-secret expiry", () => {
  it("the previous secret works until the second it expires, then only the new one does", async ({ expect }) => {
    const { client, clock, rotate, authenticates } = await setup();
    clock.set(T0 + 1_000);
    const rotated = await rotate(60);
    const expiresAt = T0 + 1_000 + 60_000;
    expect(rotated.previous_secret_expires_at).toBe(new Date(expiresAt).toISOString());

    const rows = await storedSecrets(client.client_id);
    expect(rows.map((r) => r.expires_on)).toEqual([expiresAt, null]);

    expect(await authenticates(client.client_secret)).toBe(true);
    expect(await authenticates(rotated.client_secret)).toBe(true);
    clock.set(expiresAt - 1_000);
    expect(await authenticates(client.client_secret)).toBe(true);
    clock.set(expiresAt - 1);
    expect(await authenticates(client.client_secret)).toBe(true);
    clock.set(expiresAt);
    expect(await authenticates(client.client_secret)).toBe(false);
    expect(await authenticates(rotated.client_secret)).toBe(true);
  });

  it("each previous secret keeps its own expiry", async ({ expect }) => {
    const { client, clock, rotate, authenticates } = await setup();
    const first = client.client_secret;
    const second = (await rotate(10 * 60)).client_secret; // first lives until T0 + 10 min
    clock.set(T0 + 60_000);
    const third = (await rotate(2 * 60)).client_secret; // second lives until T0 + 3 min
    clock.set(T0 + 2 * 60_000);
    const current = (await rotate(0)).client_secret; // third stops now

    expect(await authenticates(first)).toBe(true);
    expect(await authenticates(second)).toBe(true);
    expect(await authenticates(third)).toBe(false);
    expect(await authenticates(current)).toBe(true);
    clock.set(T0 + 3 * 60_000);
    expect(await authenticates(second)).toBe(false);
    expect(await authenticates(first)).toBe(true);
    clock.set(T0 + 10 * 60_000);
    expect(await authenticates(first)).toBe(false);
    expect(await authenticates(current)).toBe(true);
  });

  it("expired previous secrets are purged by the next rotation", async ({ expect }) => {
    const { client, clock, rotate } = await setup();
    await rotate(60);
    await rotate(120);
    clock.set(T0 + 90_000);
    await rotate(0);
    const rows = await storedSecrets(client.client_id);
    // The 60 s one is gone; the 120 s one is still live; the 120 s rotation's own predecessor was
    // dropped by the grace-0 rotation.
    expect(rows.map((r) => r.expires_on)).toEqual([T0 + 120_000, null]);
  });

  it("expired previous secrets are purged by the next authentication too", async ({ expect }) => {
    const { client, clock, rotate, authenticates } = await setup();
    const rotated = await rotate(30);
    clock.set(T0 + 30_000);
    expect(await storedSecrets(client.client_id)).toHaveLength(2);
    expect(await authenticates(rotated.client_secret)).toBe(true);
    expect((await storedSecrets(client.client_id)).map((r) => r.expires_on)).toEqual([null]);
  });

  it("an expired secret that is not yet purged still fails", async ({ expect }) => {
    const { client, clock, rotate } = await setup();
    await rotate(30);
    clock.set(T0 + 45_000);
    const fetcher = appFetcher({ clock: () => T0 + 45_000 });
    expect(await authenticateStatus(client.client_id, client.client_secret, fetcher)).toBe(401);
  });
});

describe("grace period: at most five previous secrets", () => {
  it("a sixth live previous secret is refused with 409 and nothing changes; grace 0 still rotates", async ({
    expect,
  }) => {
    const { client, clock, rotate, regenerate, authenticates } = await setup();
    const secrets = [client.client_secret];
    for (let i = 1; i <= 5; i += 1) {
      clock.set(T0 + i * 1_000);
      secrets.push((await rotate(3600)).client_secret);
    }
    const rowsBefore = await storedSecrets(client.client_id);
    expect(rowsBefore.filter((r) => r.expires_on !== null)).toHaveLength(5);
    const clientBefore = await storedClient(client.client_id);

    clock.set(T0 + 10_000);
    const refused = await regenerate(60);
    expect(refused.status).toBe(409);
    const problem = (await refused.json()) as { detail: string; type: string };
    expect(problem.type).toBe("/api/2.0/docs/problems#conflict");
    // It says when the earliest previous secret frees a slot.
    expect(problem.detail).toContain(new Date(T0 + 1_000 + HOUR).toISOString());
    expect(await storedSecrets(client.client_id)).toEqual(rowsBefore);
    expect(await storedClient(client.client_id)).toEqual(clientBefore);
    for (const secret of secrets) expect(await authenticates(secret)).toBe(true);

    // A grace-0 rotation replaces only the current secret; the five previous ones keep working.
    const immediate = await rotate(0);
    expect(await authenticates(secrets[5] as string)).toBe(false);
    for (const secret of secrets.slice(0, 5)) expect(await authenticates(secret)).toBe(true);
    expect(await authenticates(immediate.client_secret)).toBe(true);
  });

  it("once a previous secret expires, a graceful rotation is allowed again", async ({ expect }) => {
    const { clock, rotate, regenerate } = await setup();
    for (let i = 1; i <= 5; i += 1) {
      clock.set(T0 + i * 1_000);
      await rotate(i === 1 ? 60 : 3600);
    }
    clock.set(T0 + 30_000);
    expect((await regenerate(60)).status).toBe(409);
    clock.set(T0 + 61_000);
    expect((await regenerate(60)).status).toBe(200);
  });

  it("two concurrent graceful rotations for the last slot: one wins, one gets 409, the cap holds", async ({
    expect,
  }) => {
    const { client, clock, rotate, regenerate, authenticates } = await setup();
    for (let i = 1; i <= 4; i += 1) {
      clock.set(T0 + i * 1_000);
      await rotate(3600);
    }
    clock.set(T0 + 10_000);
    const responses = await Promise.all([regenerate(600), regenerate(600)]);
    expect(responses.map((r) => r.status).sort()).toEqual([200, 409]);
    const winner = responses.find((r) => r.status === 200) as Response;
    const { client_secret } = (await winner.json()) as { client_secret: string };
    const rows = await storedSecrets(client.client_id);
    expect(rows.filter((r) => r.expires_on !== null)).toHaveLength(5);
    expect(rows.filter((r) => r.expires_on === null)).toHaveLength(1);
    expect(await authenticates(client_secret)).toBe(true);
  });
});

describe("grace period: who may rotate, and failures", () => {
  it.for([
    ["another USER of the tenant", 404, (c: Caller) => newCaller("USER", c.tenantId)],
    ["a GUEST", 403, (c: Caller) => newCaller("GUEST", c.tenantId)],
  ] as const)("%s gets %i and nothing changes", async ([, status, who], { expect }) => {
    const { client, fetcher, caller } = await setup();
    const before = await storedSecrets(client.client_id);
    const res = await call("PATCH", `/clients/${client.client_id}/regenerate?grace_period=60`, {
      caller: who(caller),
      fetcher,
    });
    expect(res.status).toBe(status);
    expect(await storedSecrets(client.client_id)).toEqual(before);
  });

  it.for([0, 1, 2, 3, 4])(
    "a batch broken at statement %i rolls back: 503, old secret still current",
    async (k, { expect }) => {
      const { client, caller } = await setup();
      const before = await storedSecrets(client.client_id);
      const { db } = faultyD1(env.DB, { breakBatchAt: k });
      const res = await call("PATCH", `/clients/${client.client_id}/regenerate?grace_period=600`, {
        caller,
        fetcher: appFetcher({ env: { DB: db } }),
      });
      expect(res.status).toBe(503);
      expect(await storedSecrets(client.client_id)).toEqual(before);
      expect((await auditEventsFor(client.client_id)).map((e) => e.action)).toEqual([9901]);
    },
  );
});

describe("grace period: the cap is enforced inside the batch", () => {
  it("a rotation batch that would make a sixth previous secret rolls back on the unique index", async ({ expect }) => {
    const { client } = await setup();
    // Five live previous secrets written directly, as if concurrent rotations had raced past the
    // service's own pre-check.
    for (let i = 0; i < 5; i += 1) {
      await env.DB.prepare("INSERT INTO client_secrets (client_id, hash, created_on, expires_on) VALUES (?, ?, ?, ?)")
        .bind(client.client_id, `hmac-sha256.v1$previous${i}`, T0, T0 + HOUR)
        .run();
    }
    const before = await storedSecrets(client.client_id);
    const db = createDb(env.DB);
    const failure = await db
      .batch(rotationStatements(db, client.client_id, "hmac-sha256.v1$new", T0 + 1_000, 60))
      .then(() => undefined)
      .catch((error: unknown) => error);
    expect(isUniqueViolation(failure)).toBe(true);
    expect(await storedSecrets(client.client_id)).toEqual(before);
  });
});

describe("concurrent rotations behave as if serial", () => {
  it("a rotation that read a secret another rotation already retired rolls back, and the winner's secret keeps working", async ({
    expect,
  }) => {
    const { client, caller, fetcher } = await setup();
    const stale = (await env.DB.prepare("SELECT id FROM client_secrets WHERE client_id = ? AND expires_on IS NULL")
      .bind(client.client_id)
      .first("id")) as number;
    // The winner rotates first, through the API.
    const won = await call("PATCH", `/clients/${client.client_id}/regenerate`, { caller, fetcher });
    expect(won.status).toBe(200);
    const { client_secret: winnerSecret } = (await won.json()) as { client_secret: string };
    const before = await storedSecrets(client.client_id);
    // The loser's batch still names the secret it read before the winner's batch ran.
    const db = createDb(env.DB);
    const failure = await db
      .batch(rotationStatements(db, client.client_id, "hmac-sha256.v1$loser", T0 + 2_000, 0, stale))
      .then(() => undefined)
      .catch((error: unknown) => error);
    expect(isUniqueViolation(failure)).toBe(true);
    expect(await storedSecrets(client.client_id)).toEqual(before);
    expect(await authenticateStatus(client.client_id, winnerSecret)).toBe(200);
  });
});
