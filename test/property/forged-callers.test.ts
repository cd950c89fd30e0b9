import fc from "fast-check";
import { afterAll, beforeAll, describe, test, vi } from "vitest";
import { deriveSignatureKeyBytes } from "../../src/auth/machine-key";
import { DEFAULT_MAX_SIGNATURE_TTL_SECONDS } from "../../src/auth/signature-policy";
import { clientRevocationKey } from "../../src/revocation/revocations";
import { call, createClientAs } from "../helpers/api";
import { appFetcher } from "../helpers/app";
import {
  assertProperty,
  CLIENT_ID_ENDPOINTS,
  COLLECTION_ENDPOINTS,
  casesSoFar,
  checkResponse,
  countCase,
  type EndpointCase,
  fcParams,
  revocationKeysFor,
  tenantState,
} from "../helpers/reliability";
import {
  type Caller,
  docspaceClaims,
  newCaller,
  signClaims,
  signFor,
  TEST_MACHINE_KEY,
  uniqueTenant,
} from "../helpers/signature";

/**
 * Forged callers (issue 7): random mutations of a valid x-signature, near-miss machine keys,
 * claim type confusion and replays after `exp` — zero accepted; and a cross-tenant, cross-user
 * matrix over every endpoint that takes a client id — zero leaks.
 */

const TIMEOUT = 300_000;
const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

let owner: Caller;
let ownerClient: string;
let adminClient: string;
let token: string;

beforeAll(async () => {
  vi.spyOn(console, "log").mockImplementation(() => {});
  owner = newCaller("USER");
  ownerClient = (await createClientAs(owner)).client_id;
  adminClient = (await createClientAs({ ...newCaller("ADMIN", owner.tenantId) })).client_id;
  token = await signFor(owner, { exp: Math.floor(Date.now() / 1000) + 3600 });
});

afterAll(() => {
  console.info(`[forged-callers] generated cases run: ${casesSoFar()}`);
  vi.restoreAllMocks();
});

/** A write the owner may make: if a forged token were accepted, it would answer 200. */
function probe(
  signature: string,
  where: "header" | "cookie" = "header",
  fetcher?: (request: Request) => Promise<Response>,
) {
  const headers: Record<string, string> = where === "cookie" ? { cookie: `x-signature=${signature}` } : {};
  return call("PATCH", `/clients/${ownerClient}/activation`, {
    ...(where === "header" ? { signature } : {}),
    headers,
    body: { status: true },
    ...(fetcher ? { fetcher } : {}),
  });
}

function toBytes(segment: string): Uint8Array {
  const b64 = segment.replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4)), (c) => c.charCodeAt(0));
}

function toSegment(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

type Mutation =
  | { kind: "replace"; at: number; ch: string }
  | { kind: "flip"; segment: number; at: number; bit: number }
  | { kind: "insert"; at: number; ch: string }
  | { kind: "delete"; at: number; length: number }
  | { kind: "case"; at: number }
  | { kind: "truncate"; keep: number }
  | { kind: "reorder"; order: [number, number, number] }
  | { kind: "pad"; text: string };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constant("replace" as const),
    at: fc.nat(),
    ch: fc.oneof(fc.constantFrom(...B64URL.split("")), fc.constantFrom(".", "=", "+", "/", " ", "%", "~", "\t")),
  }),
  fc.record({
    kind: fc.constant("flip" as const),
    segment: fc.integer({ min: 0, max: 2 }),
    at: fc.nat(),
    bit: fc.integer({ min: 0, max: 7 }),
  }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), ch: fc.constantFrom(...`${B64URL}.=`.split("")) }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant("case" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("truncate" as const), keep: fc.nat() }),
  fc.record({
    kind: fc.constant("reorder" as const),
    order: fc.constantFrom<[number, number, number]>([1, 0, 2], [0, 2, 1], [2, 1, 0], [0, 1, 1], [0, 0, 2]),
  }),
  fc.record({ kind: fc.constant("pad" as const), text: fc.constantFrom("=", "==", ".", " ", "\t", ".x") }),
);

/** Applies one mutation to a compact JWS. */
function mutate(original: string, m: Mutation): string {
  const at = (n: number) => n % original.length;
  switch (m.kind) {
    case "replace":
      return original.slice(0, at(m.at)) + m.ch + original.slice(at(m.at) + 1);
    case "flip": {
      const parts = original.split(".");
      const bytes = toBytes(parts[m.segment] ?? "");
      if (bytes.length === 0) return original;
      const index = m.at % bytes.length;
      bytes[index] = (bytes[index] ?? 0) ^ (1 << m.bit);
      parts[m.segment] = toSegment(bytes);
      return parts.join(".");
    }
    case "insert":
      return original.slice(0, at(m.at)) + m.ch + original.slice(at(m.at));
    case "delete":
      return original.slice(0, at(m.at)) + original.slice(at(m.at) + m.length);
    case "case": {
      const ch = original[at(m.at)] ?? "";
      const flipped = ch === ch.toUpperCase() ? ch.toLowerCase() : ch.toUpperCase();
      return original.slice(0, at(m.at)) + flipped + original.slice(at(m.at) + 1);
    }
    case "truncate":
      return original.slice(0, at(m.keep));
    case "reorder": {
      const parts = original.split(".");
      return m.order.map((i) => parts[i]).join(".");
    }
    case "pad":
      return original + m.text;
  }
}

describe("mutated tokens", () => {
  test("any mutation of header, payload or MAC (chars, bits, length, order) is refused", {
    timeout: TIMEOUT,
  }, async ({ expect }) => {
    const before = await tenantState(owner.tenantId);
    let tried = 0;
    await assertProperty(
      fc.asyncProperty(mutation, fc.constantFrom("header" as const, "cookie" as const), async (m, where) => {
        const forged = mutate(token, m);
        fc.pre(forged !== token && forged.trim() !== token);
        countCase();
        tried += 1;
        const response = await probe(forged, where);
        await checkResponse(expect, response);
        expect(response.status, `accepted a mutated token (${JSON.stringify(m)})`).toBe(403);
      }),
      fcParams("mutated tokens", 1600),
    );
    expect(tried, "mutations that changed the token").toBeGreaterThan(0);
    expect(await tenantState(owner.tenantId), "no forged request changed anything").toEqual(before);
  });

  test("every single-character substitution anywhere in the token is refused (exhaustive over the MAC's last character)", {
    timeout: TIMEOUT,
  }, async ({ expect }) => {
    const accepted: string[] = [];
    const positions = [...Array.from({ length: token.length }, (_, i) => i).filter((i) => i % 7 === 0)];
    const last = token.length - 1;
    const cases: [number, string][] = positions.map((i) => [
      i,
      B64URL[(B64URL.indexOf(token[i] ?? "A") + 17) % 64] ?? "A",
    ]);
    // The MAC's last character carries 2 unused bits: a lenient base64url decoder would accept
    // three other characters there as the same MAC. All 63 must be refused.
    for (const ch of B64URL) if (ch !== token[last]) cases.push([last, ch]);
    for (const [i, ch] of cases) {
      if (token[i] === "." || token[i] === ch) continue;
      countCase();
      const forged = token.slice(0, i) + ch + token.slice(i + 1);
      const response = await probe(forged);
      await response.body?.cancel();
      if (response.status !== 403) accepted.push(`${i}:${ch}`);
    }
    expect(accepted).toEqual([]);
  });
});

/** A key that differs from the machine key by one small edit. */
const nearMissKey = fc
  .tuple(
    fc.constantFrom("replace", "insert", "delete", "case", "append", "prepend", "whitespace"),
    fc.nat(),
    fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789ABCDEF _-é\u0000".split("")),
  )
  .map(([kind, n, ch]) => {
    const k = TEST_MACHINE_KEY;
    const i = n % k.length;
    switch (kind) {
      case "replace":
        return k.slice(0, i) + ch + k.slice(i + 1);
      case "insert":
        return k.slice(0, i) + ch + k.slice(i);
      case "delete":
        return k.slice(0, i) + k.slice(i + 1);
      case "case":
        return k.slice(0, i) + (k[i] ?? "").toUpperCase() + k.slice(i + 1);
      case "append":
        return k + ch;
      case "prepend":
        return ch + k;
      default:
        return ` ${k}\n`;
    }
  });

const REAL_KEY = deriveSignatureKeyBytes(TEST_MACHINE_KEY);
const sameDerivedKey = (machineKey: string) => {
  const bytes = deriveSignatureKeyBytes(machineKey);
  return bytes.length === REAL_KEY.length && bytes.every((b, i) => b === REAL_KEY[i]);
};

describe("near-miss keys", () => {
  test("a token signed with any other derived key is refused; only the identical HMAC key verifies", {
    timeout: TIMEOUT,
  }, async ({ expect }) => {
    let collisions = 0;
    await assertProperty(
      fc.asyncProperty(nearMissKey, async (machineKey) => {
        fc.pre(machineKey !== TEST_MACHINE_KEY);
        countCase();
        const same = sameDerivedKey(machineKey);
        if (same) collisions += 1;
        const forged = await signClaims(docspaceClaims(owner), { machineKey });
        const response = await probe(forged);
        await checkResponse(expect, response);
        expect(response.status, `key ${JSON.stringify(machineKey)} (same derived key: ${same})`).toBe(same ? 200 : 403);
      }),
      fcParams("near-miss keys", 400),
    );
    console.info(`[forged-callers] near-miss keys deriving the very same HMAC key: ${collisions}`);
  });

  test("the derived key depends only on the machine key's last four bytes (DocSpace's derivation, kept for compatibility)", ({
    expect,
  }) => {
    // Documented in docs/reliability.md: operators must treat the machine key's tail as the
    // secret; these keys are the same key, so accepting their tokens is not a forgery.
    expect(sameDerivedKey(`different prefix ${TEST_MACHINE_KEY.slice(-4)}`)).toBe(true);
    expect(sameDerivedKey(`${TEST_MACHINE_KEY.slice(0, -1)}x`)).toBe(false);
  });
});

const FLAG_VALUES: unknown[] = [
  true,
  false,
  "true",
  "false",
  "True",
  "FALSE",
  " true ",
  "1",
  "0",
  1,
  0,
  2,
  -1,
  "yes",
  "",
  null,
  [true],
  { value: true },
  "truex",
  "t",
];

/** SPEC §3 read independently of src/auth: the flag, or `undefined` when the claim is unusable. */
function specFlag(value: unknown): boolean | undefined {
  if (value === undefined || value === null || value === false || value === 0) return false;
  if (value === true || value === 1) return true;
  if (typeof value !== "string") return undefined;
  const v = value.trim().toLowerCase();
  if (v === "" || v === "false" || v === "0") return false;
  if (v === "true" || v === "1") return true;
  return undefined;
}

function specTenant(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isSafeInteger(value) && value >= 1 ? value : undefined;
  if (typeof value === "string" && /^\d{1,15}$/.test(value.trim())) {
    const n = Number(value.trim());
    return n >= 1 ? n : undefined;
  }
  return undefined;
}

function specUser(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const v = value.trim();
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v) ? v.toLowerCase() : undefined;
}

describe("claim type confusion", () => {
  test("confused tenant, user and role claims never grant more than SPEC §3 reads into them", {
    timeout: TIMEOUT,
  }, async ({ expect }) => {
    const t = owner.tenantId;
    const u = owner.userId;
    const tenantValues: unknown[] = [t, String(t), ` ${t} `, `${t}.0`, t + 0.5, [t], { t }, `0${t}`, `${t}abc`, -t, 0];
    tenantValues.push("", null, true, `${t}e0`, t + 2 ** 32, String(t + 1), "99999999999999999999", `+${t}`, "٣");
    const userValues: unknown[] = [u, u.toUpperCase(), ` ${u} `, `{${u}}`, u.replace(/-/g, ""), [u], 123, null, ""];
    userValues.push(crypto.randomUUID(), `${u}\u0000`, `${u}x`);
    const claim = (pool: unknown[]) => fc.oneof(fc.constantFrom(...pool), fc.constant(undefined));
    await assertProperty(
      fc.asyncProperty(
        fc.record({
          tenant_id: fc.constantFrom(...tenantValues),
          user_id: fc.constantFrom(...userValues),
          is_admin: claim(FLAG_VALUES),
          is_guest: claim(FLAG_VALUES),
          is_public: claim(FLAG_VALUES),
        }),
        fc.boolean(),
        async (confused, targetAdminClient) => {
          countCase();
          const claims = docspaceClaims(owner, confused);
          for (const [k, v] of Object.entries(confused)) if (v === undefined) delete claims[k];
          const response = await call("PATCH", `/clients/${targetAdminClient ? adminClient : ownerClient}/activation`, {
            signature: await signClaims(claims),
            body: { status: true },
          });
          await checkResponse(expect, response);
          const tenant = specTenant(confused.tenant_id);
          const user = specUser(confused.user_id);
          const [admin, guest, pub] = [
            specFlag(confused.is_admin),
            specFlag(confused.is_guest),
            specFlag(confused.is_public),
          ];
          let expected: number;
          if (
            tenant === undefined ||
            user === undefined ||
            admin === undefined ||
            guest === undefined ||
            pub === undefined
          ) {
            expected = 403;
          } else {
            const role = admin ? "ADMIN" : guest ? "GUEST" : pub ? "USER" : "GUEST";
            const mayManage =
              tenant === t && (role === "ADMIN" || (role === "USER" && user === u && !targetAdminClient));
            expected = role === "GUEST" ? 403 : mayManage ? 200 : 404;
          }
          expect(response.status, JSON.stringify(confused)).toBe(expected);
        },
      ),
      fcParams("claim type confusion", 800),
    );
  });
});

describe("replays after exp", () => {
  test("a token is accepted exactly until exp + 60 s, from nbf − 60 s and while exp is at most an hour + 60 s ahead, whatever the claim's JSON type", {
    timeout: TIMEOUT,
  }, async ({ expect }) => {
    let now = Date.UTC(2026, 10, 28, 12, 0, 0);
    const fetcher = appFetcher({ clock: () => now });
    const base = Math.floor(now / 1000);
    await assertProperty(
      fc.asyncProperty(
        fc.integer({ min: -600, max: 600 }),
        fc.option(fc.integer({ min: -600, max: 600 })),
        fc.integer({ min: -3_600_000, max: 3_600_000 }),
        fc.boolean(),
        async (expOffset, nbfOffset, clockOffsetMs, asStrings) => {
          countCase();
          const exp = base + expOffset;
          const nbf = nbfOffset === null ? undefined : base + nbfOffset;
          const claims = docspaceClaims(owner, {
            exp: asStrings ? String(exp) : exp,
            ...(nbf === undefined ? {} : { nbf: asStrings ? String(nbf) : nbf }),
          });
          const signature = await signClaims(claims);
          now = base * 1000 + clockOffsetMs;
          const seconds = now / 1000;
          // The clock offsets reach an hour before the token's time, so some of these tokens live
          // longer than the default MAX_SIGNATURE_TTL_SECONDS allows.
          const valid =
            seconds <= exp + 60 &&
            (nbf === undefined || seconds >= nbf - 60) &&
            exp - seconds <= DEFAULT_MAX_SIGNATURE_TTL_SECONDS + 60;
          const response = await probe(signature, "header", fetcher);
          await checkResponse(expect, response);
          expect(response.status, `now=${seconds} exp=${exp} nbf=${nbf}`).toBe(valid ? 200 : 403);
        },
      ),
      fcParams("replays after exp", 600),
    );
  });
});

type Intruder = [name: string, make: (victim: Caller) => Caller];

/** Everyone who must not see the victim's client (ADMIN of its tenant and its creator may). */
const INTRUDERS: Intruder[] = [
  ["another USER of the same tenant", (v) => newCaller("USER", v.tenantId)],
  ["the same user id in another tenant (USER)", (v) => ({ ...v, tenantId: uniqueTenant() })],
  ["the same user id in another tenant (ADMIN)", (v) => ({ ...v, tenantId: uniqueTenant(), role: "ADMIN" })],
  ["an ADMIN of another tenant", () => newCaller("ADMIN")],
  ["a GUEST of the same tenant", (v) => newCaller("GUEST", v.tenantId)],
  ["the creator's own id as a GUEST", (v) => ({ ...v, role: "GUEST" })],
];

async function answerOf(endpoint: EndpointCase, caller: Caller | undefined, clientId: string) {
  const response = await call(endpoint.method, endpoint.path(clientId), {
    ...(caller && endpoint.signed ? { caller } : {}),
    ...(endpoint.body ? { body: endpoint.body() } : {}),
  });
  const text = await response.text();
  const body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  delete body.request_id;
  delete body.instance;
  return { status: response.status, body };
}

describe("cross-tenant and cross-user matrix", () => {
  const endpoints = CLIENT_ID_ENDPOINTS;

  test.for(endpoints.map((e) => [e.id, e] as const))(
    "%s: nobody but the owner and the tenant's ADMIN learns or changes anything",
    {
      timeout: TIMEOUT,
    },
    async ([, endpoint], { expect }) => {
      const victim = newCaller("USER");
      const created = await createClientAs(victim);
      const clientId = created.client_id;
      const before = await tenantState(victim.tenantId);
      const keysBefore = await revocationKeysFor(clientId);
      for (const [name, make] of INTRUDERS) {
        const intruder = make(victim);
        countCase();
        const seen = await answerOf(endpoint, intruder, clientId);
        const unknown = await answerOf(endpoint, intruder, crypto.randomUUID());
        if (endpoint.foreign === "public") {
          expect(seen.status, name).toBe(200);
          expect("client_secret" in seen.body, "public info never carries a secret").toBe(false);
        } else {
          // Indistinguishable from a client that does not exist: same status, same problem body.
          expect(seen, `${name}: answer differs from an unknown id's`).toEqual(unknown);
          if (endpoint.foreign === "hidden") expect([403, 404], name).toContain(seen.status);
          const guestCall = intruder.role === "GUEST" && !endpoint.guestAllowed;
          if (guestCall) expect(seen.status, name).toBe(403);
        }
        const after = await tenantState(victim.tenantId);
        // A revoke by a caller of the same tenant records that caller's own audit event, nothing else.
        if (endpoint.foreign === "idempotent") after.audits = before.audits;
        expect(after, `${name} changed the victim's tenant`).toEqual(before);
        const keys = await revocationKeysFor(clientId);
        expect(keys.includes(clientRevocationKey(clientId)), `${name} revoked the client's tokens`).toBe(
          keysBefore.includes(clientRevocationKey(clientId)),
        );
      }
      // Positive controls, so the matrix cannot pass by refusing everyone: the tenant's ADMIN, then the owner.
      const admin = newCaller("ADMIN", victim.tenantId);
      const ownerAnswer = await answerOf(endpoint, endpoint.id === "deleteClient" ? victim : admin, clientId);
      expect(ownerAnswer.status).toBe(endpoint.ok);
      const ownerAgain = await answerOf(
        endpoint,
        victim,
        endpoint.id === "deleteClient" ? crypto.randomUUID() : clientId,
      );
      expect(ownerAgain.status).toBe(endpoint.id === "deleteClient" ? 404 : endpoint.ok);
    },
  );

  test("lists never include another tenant's or another user's client", { timeout: TIMEOUT }, async ({ expect }) => {
    const lists = COLLECTION_ENDPOINTS.filter((e) => e.method === "GET" && e.id !== "getScopes");
    expect(lists.length).toBeGreaterThan(0);
    const victim = newCaller("USER");
    const { client_id: clientId } = await createClientAs(victim);
    for (const [name, make] of INTRUDERS) {
      const intruder = make(victim);
      await createClientAs(intruder.role === "GUEST" ? newCaller("USER", intruder.tenantId) : intruder).catch(() => {});
      for (const list of lists) {
        countCase();
        const response = await call("GET", list.path(""), { caller: intruder });
        const text = await response.text();
        expect(text.includes(clientId), `${name} sees the victim's client in ${list.id}`).toBe(false);
        expect(response.status).toBeLessThan(500);
      }
    }
    const own = await call("GET", "/clients?limit=50", { caller: victim });
    expect(await own.text()).toContain(clientId);
  });
});
