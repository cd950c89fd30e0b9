import { afterEach, describe, it, vi } from "vitest";
import {
  clientRevocationKey,
  DEFAULT_MAX_TOKEN_TTL_SECONDS,
  revocationTtlConflict,
  revocationTtlSeconds,
} from "../../src/revocation/revocations";
import { call } from "../helpers/api";
import { appFetcher } from "../helpers/app";
import { newCaller } from "../helpers/signature";
import { createClientVia, kvEntry } from "../helpers/stored-state";

// AS §11: "MAX_TOKEN_TTL_SECONDS must be ≥ the refresh TTL". The revocation entries' TTL is the
// configured value, raised to the longest token lifetime (refresh or access) when it is shorter —
// an entry that expired before the tokens it revokes would bring them back — and the
// misconfiguration is logged once per isolate.

const DAY = 86_400;
const REFRESH_DEFAULT = 30 * DAY;

afterEach(() => {
  vi.restoreAllMocks();
});

describe("revocationTtlSeconds", () => {
  it.for([
    // [MAX_TOKEN_TTL_SECONDS, longest token (s), effective]
    ["5184000", REFRESH_DEFAULT, 5_184_000],
    ["3600", REFRESH_DEFAULT, REFRESH_DEFAULT],
    ["3600", 3600, 3600],
    ["30", 0, 60],
    [undefined, REFRESH_DEFAULT, DEFAULT_MAX_TOKEN_TTL_SECONDS],
    ["soon", 90 * DAY, 90 * DAY],
    ["-5", 0, DEFAULT_MAX_TOKEN_TTL_SECONDS],
    ["7200", 7200.4, 7201],
  ] as const)(
    "MAX_TOKEN_TTL_SECONDS=%s with a longest token of %d s → %d s",
    ([configured, longest, effective], { expect }) => {
      expect(revocationTtlSeconds(configured, longest)).toBe(effective);
    },
  );

  it("without a longest token it reads the var as before", ({ expect }) => {
    expect(revocationTtlSeconds("3600")).toBe(3600);
    expect(revocationTtlSeconds(undefined)).toBe(DEFAULT_MAX_TOKEN_TTL_SECONDS);
  });

  it("names the conflict only when the var is raised", ({ expect }) => {
    expect(revocationTtlConflict("3600", REFRESH_DEFAULT)).toEqual({
      configured_seconds: 3600,
      effective_seconds: REFRESH_DEFAULT,
    });
    expect(revocationTtlConflict("5184000", REFRESH_DEFAULT)).toBeUndefined();
    expect(revocationTtlConflict(String(REFRESH_DEFAULT), REFRESH_DEFAULT)).toBeUndefined();
  });
});

describe("through the worker", () => {
  async function deleteAndReadExpiry(env: Partial<Env>): Promise<{ ttl: number; lines: string[] }> {
    const log = vi.spyOn(console, "log");
    const fetcher = appFetcher({ env });
    const caller = newCaller("USER");
    const created = await createClientVia(fetcher, caller);
    const before = Math.floor(Date.now() / 1000);
    const res = await call("DELETE", `/clients/${created.client_id}`, { caller, fetcher });
    if (res.status !== 200) throw new Error(`delete answered ${res.status}`);
    const entry = await kvEntry(clientRevocationKey(created.client_id));
    const lines = log.mock.calls.map(([line]) => String(line)).filter((line) => line.includes("MAX_TOKEN_TTL_SECONDS"));
    log.mockRestore();
    return { ttl: (entry?.expiration ?? 0) - before, lines };
  }

  it("a MAX_TOKEN_TTL_SECONDS below the refresh TTL writes entries that live as long as a refresh token, and says so once", async ({
    expect,
  }) => {
    const env = { MAX_TOKEN_TTL_SECONDS: "3600", REFRESH_TOKEN_TTL_SECONDS: "1209600" };
    const { ttl, lines } = await deleteAndReadExpiry(env);
    expect(ttl).toBeGreaterThanOrEqual(1_209_600);
    expect(ttl).toBeLessThanOrEqual(1_209_602);
    expect(lines.map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({ level: "warn", configured_seconds: 3600, effective_seconds: 1_209_600 }),
    ]);
    // Logged once per isolate and configuration, not per request.
    expect((await deleteAndReadExpiry(env)).lines).toEqual([]);
  });

  it("a consistent configuration is used as written, silently", async ({ expect }) => {
    const { ttl, lines } = await deleteAndReadExpiry({
      MAX_TOKEN_TTL_SECONDS: "7200",
      REFRESH_TOKEN_TTL_SECONDS: "3600",
    });
    expect(ttl).toBeGreaterThanOrEqual(7200);
    expect(ttl).toBeLessThanOrEqual(7202);
    expect(lines).toEqual([]);
  });
});
