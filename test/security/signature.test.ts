import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import { deriveSignatureKeyBytes } from "../../src/auth/machine-key";
import { encodeJsonSegment } from "../../src/auth/sign-token";
import { clientRevocationKey } from "../../src/revocation/revocations";
import { call, clientBody, createClientAs } from "../helpers/api";
import { appFetcher, manualClock } from "../helpers/app";
import { type Caller, docspaceClaims, newCaller, signClaims, signFor, TEST_MACHINE_KEY } from "../helpers/signature";

// SPEC §3 through the worker: every bad x-signature answers 403 problem+json on the mutating
// operations, and nothing changes in D1 or KV. Each bad token claims to be the tenant's ADMIN,
// so if the gateway ever accepted it, the snapshot comparison would show the change. The detail
// says "expired" only for a genuine token whose time ran out; a forgery learns "Invalid signature.".

type Credentials = { signature?: string; headers?: Record<string, string> };
type BadCase = [name: string, forge: (victim: Caller) => Promise<Credentials>, detail?: string];

const INVALID = "Invalid signature.";
const EXPIRED = "The signature has expired.";
const REQUIRED = "A valid x-signature is required.";

const nowSeconds = () => Math.floor(Date.now() / 1000);

function base64Url(bytes: ArrayBuffer | Uint8Array): string {
  return btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

/** Signs `header.payload` (already encoded) with the real key and any HMAC hash. */
async function macWithRealKey(signingInput: string, hash: "SHA-256" | "SHA-512"): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    deriveSignatureKeyBytes(TEST_MACHINE_KEY),
    { name: "HMAC", hash },
    false,
    ["sign"],
  );
  return base64Url(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(signingInput)));
}

/** Claims of the victim with one claim removed (`undefined`) or replaced. */
function claimsWith(victim: Caller, overrides: Record<string, unknown>): Record<string, unknown> {
  const claims = docspaceClaims(victim, overrides);
  for (const [name, value] of Object.entries(overrides)) if (value === undefined) delete claims[name];
  return claims;
}

const signed = (victim: Caller, overrides: Record<string, unknown>) => async (): Promise<Credentials> => ({
  signature: await signClaims(claimsWith(victim, overrides)),
});

const REQUIRED_CLAIMS = ["user_id", "user_name", "user_email", "tenant_url", "tenant_id"];

const BAD_CASES: BadCase[] = [
  ["no signature at all", async () => ({}), REQUIRED],
  ["an empty x-signature header", async () => ({ signature: "" })],
  [
    "an empty cookie with a valid header",
    async (victim) => ({ signature: await signFor(victim), headers: { cookie: "x-signature=" } }),
  ],
  [
    "an empty upper-case X-Signature cookie with a valid header",
    async (victim) => ({ signature: await signFor(victim), headers: { cookie: "theme=dark; X-Signature=" } }),
  ],
  [
    "an invalid cookie with a valid header",
    async (victim) => ({ signature: await signFor(victim), headers: { cookie: "x-signature=not.a.token" } }),
  ],
  [
    "alg none without a MAC",
    async (victim) => ({
      signature: `${encodeJsonSegment({ alg: "none", typ: "JWT" })}.${encodeJsonSegment(docspaceClaims(victim))}.`,
    }),
  ],
  [
    "alg none with a MAC from the real key",
    async (victim) => ({
      signature: await signClaims(docspaceClaims(victim), { header: { alg: "none", typ: "JWT" } }),
    }),
  ],
  [
    "HS512 with the real key",
    async (victim) => {
      const input = `${encodeJsonSegment({ alg: "HS512", typ: "JWT" })}.${encodeJsonSegment(docspaceClaims(victim))}`;
      return { signature: `${input}.${await macWithRealKey(input, "SHA-512")}` };
    },
  ],
  [
    "a lower-case hs256 alg",
    async (victim) => ({
      signature: await signClaims(docspaceClaims(victim), { header: { alg: "hs256", typ: "JWT" } }),
    }),
  ],
  [
    "a tampered payload (a guest's MAC on admin claims)",
    async (victim) => {
      const [header, , mac] = (await signFor({ ...victim, role: "GUEST" })).split(".");
      return { signature: `${header}.${encodeJsonSegment(docspaceClaims(victim))}.${mac}` };
    },
  ],
  [
    "a MAC from another machine key",
    async (victim) => ({ signature: await signClaims(docspaceClaims(victim), { machineKey: "another-machine-key" }) }),
  ],
  [
    "a MAC made with the dev key's bytes truncated to 32",
    async (victim) => {
      const input = `${encodeJsonSegment({ alg: "HS256", typ: "JWT" })}.${encodeJsonSegment(docspaceClaims(victim))}`;
      const key = await crypto.subtle.importKey(
        "raw",
        deriveSignatureKeyBytes(TEST_MACHINE_KEY).slice(0, 32),
        { name: "HMAC", hash: "SHA-256" },
        false,
        ["sign"],
      );
      return {
        signature: `${input}.${base64Url(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(input)))}`,
      };
    },
  ],
  ["an expired token (exp 61 s ago)", async (victim) => signed(victim, { exp: nowSeconds() - 61 })(), EXPIRED],
  [
    "an expired token (exp an hour ago)",
    async (victim) => signed(victim, { exp: String(nowSeconds() - 3600) })(),
    EXPIRED,
  ],
  [
    "an expired token signed with another machine key",
    async (victim) => ({
      signature: await signClaims(docspaceClaims(victim, { exp: nowSeconds() - 3600 }), { machineKey: "attacker" }),
    }),
  ],
  [
    "an expired token with alg none",
    async (victim) => ({
      signature: await signClaims(docspaceClaims(victim, { exp: nowSeconds() - 3600 }), {
        header: { alg: "none", typ: "JWT" },
      }),
    }),
  ],
  [
    "an expired token with a truncated MAC",
    async (victim) => {
      const [header, payload, mac = ""] = (await signFor(victim, { exp: nowSeconds() - 3600 })).split(".");
      return { signature: `${header}.${payload}.${mac.slice(0, -4)}` };
    },
  ],
  ["nbf an hour in the future", async (victim) => signed(victim, { nbf: nowSeconds() + 3600 })()],
  ["no exp (REQUIRE_SIGNATURE_EXP defaults to true)", async (victim) => signed(victim, { exp: undefined })()],
  ["exp in year 9999", async (victim) => signed(victim, { exp: Date.UTC(9999, 11, 31) / 1000 })()],
  [
    "exp 62 minutes ahead (over the default one-hour cap and its 60 s skew)",
    async (victim) => signed(victim, { exp: String(nowSeconds() + 62 * 60) })(),
  ],
  ["a non-numeric exp", async (victim) => signed(victim, { exp: "tomorrow" })()],
  ...REQUIRED_CLAIMS.flatMap((claim): BadCase[] => [
    [`${claim} missing`, async (victim) => signed(victim, { [claim]: undefined })()],
    [`${claim} empty`, async (victim) => signed(victim, { [claim]: "" })()],
    [`${claim} blank`, async (victim) => signed(victim, { [claim]: "   " })()],
  ]),
  ["user_id not a GUID", async (victim) => signed(victim, { user_id: "admin" })()],
  ["tenant_id 0", async (victim) => signed(victim, { tenant_id: "0" })()],
  ["tenant_id 0 as a number", async (victim) => signed(victim, { tenant_id: 0 })()],
  ["tenant_id negative", async (victim) => signed(victim, { tenant_id: `-${victim.tenantId}` })()],
  ["tenant_id negative as a number", async (victim) => signed(victim, { tenant_id: -victim.tenantId })()],
  ["tenant_id non-numeric", async (victim) => signed(victim, { tenant_id: "tenant-one" })()],
  ["tenant_id fractional", async (victim) => signed(victim, { tenant_id: `${victim.tenantId}.5` })()],
  ["garbage that is not base64", async () => ({ signature: "!!!.@@@.###" })],
  ["a single opaque string", async () => ({ signature: "c2lnbmF0dXJl" })],
  [
    "a validly signed payload that is not base64",
    async () => {
      const input = `${encodeJsonSegment({ alg: "HS256", typ: "JWT" })}.%%%not-base64%%%`;
      return { signature: `${input}.${await macWithRealKey(input, "SHA-256")}` };
    },
  ],
  [
    "a validly signed payload that is not JSON",
    async () => {
      const input = `${encodeJsonSegment({ alg: "HS256", typ: "JWT" })}.${base64Url(new TextEncoder().encode("{oops"))}`;
      return { signature: `${input}.${await macWithRealKey(input, "SHA-256")}` };
    },
  ],
  ["four segments", async (victim) => ({ signature: `${await signFor(victim)}.e30` })],
  ["a validly signed token over 8 KiB", async (victim) => signed(victim, { user_name: "n".repeat(7000) })()],
  [
    "kid pointing at a file, signed with an empty key",
    async (victim) => ({
      signature: await signClaims(docspaceClaims(victim), {
        machineKey: "",
        header: { alg: "HS256", typ: "JWT", kid: "../../../../dev/null" },
      }),
    }),
  ],
  [
    "kid carrying SQL, signed with an attacker key",
    async (victim) => ({
      signature: await signClaims(docspaceClaims(victim), {
        machineKey: "attacker",
        header: { alg: "HS256", typ: "JWT", kid: "' UNION SELECT 'attacker' --" },
      }),
    }),
  ],
  [
    "jku pointing at an attacker's key set",
    async (victim) => ({
      signature: await signClaims(docspaceClaims(victim), {
        machineKey: "attacker",
        header: { alg: "HS256", typ: "JWT", jku: "https://evil.example/.well-known/jwks.json" },
      }),
    }),
  ],
  [
    "an embedded jwk with the attacker's key",
    async (victim) => ({
      signature: await signClaims(docspaceClaims(victim), {
        machineKey: "attacker",
        header: { alg: "HS256", typ: "JWT", jwk: { kty: "oct", k: base64Url(deriveSignatureKeyBytes("attacker")) } },
      }),
    }),
  ],
  [
    "a crit header extension",
    async (victim) => ({
      signature: await signClaims(docspaceClaims(victim), {
        header: { alg: "HS256", typ: "JWT", crit: ["http://evil.example/ext"], "http://evil.example/ext": true },
      }),
    }),
  ],
];

/** Everything of the tenant that a successful write would change. */
async function tenantState(tenant: number, clientId: string) {
  const [clients, secrets, audit, consents] = await Promise.all([
    env.DB.prepare("SELECT * FROM clients WHERE tenant = ? ORDER BY client_id").bind(tenant).all(),
    env.DB.prepare(
      "SELECT s.* FROM client_secrets s JOIN clients c ON c.client_id = s.client_id WHERE c.tenant = ? ORDER BY s.id",
    )
      .bind(tenant)
      .all(),
    env.DB.prepare("SELECT * FROM audit_events WHERE tenant = ? ORDER BY id").bind(tenant).all(),
    env.DB.prepare("SELECT * FROM consents WHERE tenant = ? ORDER BY client_id").bind(tenant).all(),
  ]);
  return {
    clients: clients.results,
    secrets: secrets.results,
    audit: audit.results,
    consents: consents.results,
    revocation: await env.REVOCATIONS.get(clientRevocationKey(clientId)),
  };
}

/** A tenant with one client and one consent, made with a valid admin signature. */
async function victimTenant() {
  const admin = newCaller("ADMIN");
  const client = await createClientAs(admin);
  await env.DB.prepare("INSERT INTO consents (tenant, user_id, client_id, scopes, modified_on) VALUES (?, ?, ?, ?, ?)")
    .bind(admin.tenantId, admin.userId, client.client_id, "openid", Date.now())
    .run();
  return { admin, clientId: client.client_id };
}

const operations = (clientId: string) =>
  [
    ["POST", "/clients", clientBody({ name: "Forged client" })],
    ["PUT", `/clients/${clientId}`, { name: "Forged name", allowed_origins: ["https://evil.example"] }],
    ["PATCH", `/clients/${clientId}/regenerate`, undefined],
    ["PATCH", `/clients/${clientId}/activation`, { status: false }],
    ["DELETE", `/clients/${clientId}`, undefined],
    ["DELETE", `/clients/${clientId}/revoke`, undefined],
  ] as const;

describe("a bad x-signature is refused with 403 and changes nothing", () => {
  it.for(BAD_CASES)("%s", async ([, forge, detail = INVALID], { expect }) => {
    const { admin, clientId } = await victimTenant();
    const before = await tenantState(admin.tenantId, clientId);
    const credentials = await forge(admin);

    for (const [method, path, body] of operations(clientId)) {
      const res = await call(method, path, { ...credentials, body });
      const text = await res.text();
      expect(res.status, `${method} ${path}: ${text}`).toBe(403);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      const problem = JSON.parse(text) as Record<string, unknown>;
      expect(problem).toMatchObject({ status: 403, title: "Forbidden", instance: `/api/2.0${path}` });
      expect(String(problem.type)).toMatch(/#invalid-signature$/);
      // The reason is logged, never shown: no hint of which check failed (beyond "expired" for a genuine
      // token), and no echo of the token.
      expect(problem.detail).toBe(detail);
      if (credentials.signature) expect(text).not.toContain(credentials.signature);
    }

    expect(await tenantState(admin.tenantId, clientId)).toEqual(before);
  });

  it("control: the same operations with a valid signature do change the tenant", async ({ expect }) => {
    const { admin, clientId } = await victimTenant();
    const before = await tenantState(admin.tenantId, clientId);
    const signature = await signFor(admin);
    const res = await call("PUT", `/clients/${clientId}`, {
      signature,
      body: { name: "Changed name", allowed_origins: ["https://example.com"] },
    });
    expect(res.status).toBe(200);
    expect(await tenantState(admin.tenantId, clientId)).not.toEqual(before);
  });

  it("exp and nbf are checked against the request clock with 60 s of skew", async ({ expect }) => {
    const clock = manualClock();
    const fetcher = appFetcher({ clock: clock.now });
    const admin = newCaller("ADMIN");
    const at = Math.floor(clock.now() / 1000);
    const expiring = await signFor(admin, { exp: at });
    const early = await signFor(admin, { exp: at + 3600, nbf: at + 120 });
    const create = (signature: string) => call("POST", "/clients", { signature, body: clientBody(), fetcher });

    clock.advance(60_000);
    expect((await create(expiring)).status).toBe(201);
    clock.advance(1_000);
    expect((await create(expiring)).status).toBe(403);

    clock.set(at * 1000 + 59_000);
    expect((await create(early)).status).toBe(403);
    clock.set(at * 1000 + 60_000);
    expect((await create(early)).status).toBe(201);

    const stored = await env.DB.prepare("SELECT COUNT(*) AS n FROM clients WHERE tenant = ?")
      .bind(admin.tenantId)
      .first("n");
    expect(stored).toBe(2);
  });

  it("a valid cookie wins over an invalid header", async ({ expect }) => {
    const { admin, clientId } = await victimTenant();
    const res = await call("PUT", `/clients/${clientId}`, {
      signature: "garbage",
      headers: { cookie: `x-signature=${await signFor(admin)}` },
      body: { name: "Cookie name", allowed_origins: ["https://example.com"] },
    });
    expect(res.status).toBe(200);
    const row = await env.DB.prepare("SELECT name FROM clients WHERE client_id = ?").bind(clientId).first("name");
    expect(row).toBe("Cookie name");
  });

  it("the real DocSpace string-claim token shape and native claim types both pass the worker", async ({ expect }) => {
    const strings = newCaller("USER");
    const natives = newCaller("USER");
    const nativeClaims = docspaceClaims(natives, {
      tenant_id: natives.tenantId,
      is_admin: false,
      is_guest: false,
      is_public: true,
    });
    const a = await call("POST", "/clients", { signature: await signFor(strings), body: clientBody() });
    const b = await call("POST", "/clients", { signature: await signClaims(nativeClaims), body: clientBody() });
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(((await b.json()) as { tenant: number }).tenant).toBe(natives.tenantId);
  });
});
