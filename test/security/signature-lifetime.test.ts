import { env } from "cloudflare:workers";
import { afterEach, describe, it, vi } from "vitest";
import { call, clientBody } from "../helpers/api";
import { appFetcher, manualClock } from "../helpers/app";
import { type Caller, docspaceClaims, newCaller, signClaims, signFor } from "../helpers/signature";

// SPEC §3 lifetime rules through the worker (issue 12 items 10 and 11): MAX_SIGNATURE_TTL_SECONDS and
// REQUIRE_SIGNATURE_EXP as vars (passed per test through appFetcher's env), invalid values falling back
// to the defaults, the DocSpace vector token (exp 2100) only under a cap that allows it, and which
// refusals say "expired" in the 403 detail and which say "Invalid signature.".

/** The token of shared/vectors/signature.md: the DocSpace admin of tenant 1, exp 2100-01-01. */
const VECTOR_TOKEN =
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIwYjRlOWIxYy0zZjZhLTRkNWUtOWMyYi03YTFkMmUzZjRhNWIiLCJ1c2VyX2lkIjoiMGI0ZTliMWMtM2Y2YS00ZDVlLTljMmItN2ExZDJlM2Y0YTViIiwidXNlcl9uYW1lIjoiRGV2IEFkbWluIiwidXNlcl9lbWFpbCI6ImFkbWluQGV4YW1wbGUuY29tIiwidGVuYW50X2lkIjoiMSIsInRlbmFudF91cmwiOiJodHRwOi8vbG9jYWxob3N0OjgwOTIiLCJpc19hZG1pbiI6InRydWUiLCJpc19ndWVzdCI6ImZhbHNlIiwiaXNfcHVibGljIjoidHJ1ZSIsImV4cCI6NDEwMjQ0NDgwMCwiaXNzIjoiaHR0cDovL2xvY2FsaG9zdDo4MDkyIiwiYXVkIjoiaHR0cDovL2xvY2FsaG9zdDo4MDkyIn0.Ssgc6ZftLALPF4kl9XdYbFNdU1TPaFUMwaUzC2maTuM";
const VECTOR_EXP = 4102444800;

const INVALID = "Invalid signature.";
const EXPIRED = "The signature has expired.";

afterEach(() => {
  vi.restoreAllMocks();
});

/** An app at a fixed time with the given vars, and a way to create a client through it. */
function gatewayAt(vars: Partial<Env> = {}) {
  const clock = manualClock();
  const fetcher = appFetcher({ clock: clock.now, env: vars });
  const at = Math.floor(clock.now() / 1000);
  const create = async (signature: string) => {
    const res = await call("POST", "/clients", { signature, body: clientBody(), fetcher });
    const body = (await res.json()) as { detail?: string };
    return { status: res.status, detail: body.detail };
  };
  return { clock, fetcher, at, create };
}

const storedClients = (caller: Caller) =>
  env.DB.prepare("SELECT COUNT(*) AS n FROM clients WHERE tenant = ?").bind(caller.tenantId).first("n");

/** A token of `caller` without `exp`. */
function withoutExp(caller: Caller): Promise<string> {
  const claims = docspaceClaims(caller);
  delete claims.exp;
  return signClaims(claims);
}

describe("MAX_SIGNATURE_TTL_SECONDS", () => {
  it("by default, exp may be at most an hour (plus 60 s skew) ahead; beyond that is 403 and stores nothing", async ({
    expect,
  }) => {
    const { at, create } = gatewayAt();
    const admin = newCaller("ADMIN");
    expect(await create(await signFor(admin, { exp: at + 3660 }))).toEqual({ status: 201, detail: undefined });
    expect(await create(await signFor(admin, { exp: at + 3661 }))).toEqual({ status: 403, detail: INVALID });
    expect(await create(await signFor(admin, { exp: String(Date.UTC(9999, 0, 1) / 1000) }))).toEqual({
      status: 403,
      detail: INVALID,
    });
    expect(await storedClients(admin)).toBe(1);
  });

  it("a larger cap from the var admits a longer-lived token, and still refuses one beyond it", async ({ expect }) => {
    const { at, create } = gatewayAt({ MAX_SIGNATURE_TTL_SECONDS: "7200" });
    const admin = newCaller("ADMIN");
    expect((await create(await signFor(admin, { exp: at + 7200 }))).status).toBe(201);
    expect(await create(await signFor(admin, { exp: at + 7261 }))).toEqual({ status: 403, detail: INVALID });
  });

  it("a smaller cap refuses what the default admits", async ({ expect }) => {
    const { at, create } = gatewayAt({ MAX_SIGNATURE_TTL_SECONDS: "60" });
    const admin = newCaller("ADMIN");
    expect((await create(await signFor(admin, { exp: at + 120 }))).status).toBe(201);
    expect(await create(await signFor(admin, { exp: at + 300 }))).toEqual({ status: 403, detail: INVALID });
  });

  it.for(["", "0", "-60", "1.5", "an hour", "3600s"])(
    "an invalid value (%j) means the default, 3600",
    async (value, { expect }) => {
      const { at, create } = gatewayAt({ MAX_SIGNATURE_TTL_SECONDS: value });
      const admin = newCaller("ADMIN");
      expect((await create(await signFor(admin, { exp: at + 3600 }))).status).toBe(201);
      expect((await create(await signFor(admin, { exp: at + 3661 }))).status).toBe(403);
    },
  );
});

describe("the DocSpace vector token (exp 2100)", () => {
  it("passes the worker when the cap allows its lifetime", async ({ expect }) => {
    const fetcher = appFetcher({ env: { MAX_SIGNATURE_TTL_SECONDS: String(VECTOR_EXP) } });
    const res = await call("GET", "/clients?limit=1", { signature: VECTOR_TOKEN, fetcher });
    expect(res.status).toBe(200);
  });

  it("is refused under the default cap with 403 Invalid signature.", async ({ expect }) => {
    const res = await call("GET", "/clients?limit=1", { signature: VECTOR_TOKEN });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { detail: string }).detail).toBe(INVALID);
  });
});

describe("REQUIRE_SIGNATURE_EXP", () => {
  it("by default a token without exp is 403 Invalid signature. and stores nothing", async ({ expect }) => {
    const { create } = gatewayAt();
    const admin = newCaller("ADMIN");
    expect(await create(await withoutExp(admin))).toEqual({ status: 403, detail: INVALID });
    expect(await storedClients(admin)).toBe(0);
  });

  it.for(["false", "FALSE"])("%j admits a token without exp", async (value, { expect }) => {
    const { create } = gatewayAt({ REQUIRE_SIGNATURE_EXP: value });
    expect((await create(await withoutExp(newCaller("ADMIN")))).status).toBe(201);
  });

  it.for(["", "no", "0", "off", "true"])(
    "%j keeps exp required (an invalid value means the default, true)",
    async (value, { expect }) => {
      const { create } = gatewayAt({ REQUIRE_SIGNATURE_EXP: value });
      expect(await create(await withoutExp(newCaller("ADMIN")))).toEqual({ status: 403, detail: INVALID });
    },
  );

  it("turning it off does not lift the cap on a token that has exp", async ({ expect }) => {
    const { at, create } = gatewayAt({ REQUIRE_SIGNATURE_EXP: "false" });
    expect((await create(await signFor(newCaller("ADMIN"), { exp: at + 86_400 }))).status).toBe(403);
  });
});

describe("what the 403 says", () => {
  it("a genuine token whose time ran out: expired; the same claims forged: invalid", async ({ expect }) => {
    const { clock, at, create } = gatewayAt();
    const admin = newCaller("ADMIN");
    const genuine = await signFor(admin, { exp: at });
    const forged = await signClaims(docspaceClaims(admin, { exp: at }), { machineKey: "attacker" });
    clock.advance(61_000);
    expect(await create(genuine)).toEqual({ status: 403, detail: EXPIRED });
    expect(await create(forged)).toEqual({ status: 403, detail: INVALID });
    expect(await create(`${genuine.slice(0, -2)}AA`)).toEqual({ status: 403, detail: INVALID });
  });

  it("a genuine token that is not yet valid, too long-lived or without exp is not called expired", async ({
    expect,
  }) => {
    const { at, create } = gatewayAt();
    const admin = newCaller("ADMIN");
    expect(await create(await signFor(admin, { nbf: at + 120 }))).toEqual({ status: 403, detail: INVALID });
    expect(await create(await signFor(admin, { exp: at + 86_400 }))).toEqual({ status: 403, detail: INVALID });
    expect(await create(await withoutExp(admin))).toEqual({ status: 403, detail: INVALID });
  });

  it("the access log still tells every reason apart", async ({ expect }) => {
    const log = vi.spyOn(console, "log");
    const { at, fetcher } = gatewayAt();
    const admin = newCaller("ADMIN");
    const tokens = {
      expired: await signFor(admin, { exp: at - 61 }),
      not_yet_valid: await signFor(admin, { nbf: at + 120 }),
      lifetime_too_long: await signFor(admin, { exp: at + 86_400 }),
      missing_exp: await withoutExp(admin),
      bad_mac: await signClaims(docspaceClaims(admin, { exp: at - 61 }), { machineKey: "attacker" }),
    };
    for (const [reason, signature] of Object.entries(tokens)) {
      const id = `lifetime-${reason}-${crypto.randomUUID()}`;
      await call("POST", "/clients", { signature, body: clientBody(), fetcher, headers: { "x-request-id": id } });
      const lines = log.mock.calls
        .map(([line]) => String(line))
        .filter((line) => line.includes(id))
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((entry) => entry.msg === "request");
      expect(lines, reason).toHaveLength(1);
      expect(lines[0], reason).toMatchObject({ status: 403, auth_failure: reason });
    }
  });
});
