import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, it, type MockInstance, vi } from "vitest";
import { call, clientBody } from "../helpers/api";
import { appFetcher } from "../helpers/app";
import { faultyD1 } from "../helpers/faults";
import { newCaller } from "../helpers/signature";
import { createClientVia, insertConsent, newRequestId, storedSecrets, warmUpWorker } from "../helpers/stored-state";

// SPEC §7: the plain client secret exists only in the create (4.1) and regenerate (4.4)
// responses. D1 holds a tagged HMAC, KV holds nothing about it, and no log line carries it.

const CONSOLE_METHODS = ["log", "info", "warn", "error", "debug"] as const;

/** Captures every console call made while the app handles requests in this isolate. */
function captureConsole() {
  const spies: MockInstance[] = CONSOLE_METHODS.map((method) => vi.spyOn(console, method));
  return {
    text: () => spies.flatMap((spy) => spy.mock.calls.map((args) => args.map(String).join(" "))).join("\n"),
  };
}

afterEach(() => {
  vi.restoreAllMocks();
});

/** Every row of every application table in D1, serialised. */
async function dumpD1(): Promise<string> {
  const { results: tables } = await env.DB.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'",
  ).all<{ name: string }>();
  // A sanity check that the scan sees the tables that matter.
  const names = tables.map((t) => t.name);
  for (const required of ["clients", "client_secrets", "consents", "audit_events", "scopes"]) {
    if (!names.includes(required)) throw new Error(`table ${required} not found in ${names.join(", ")}`);
  }
  const dumps: string[] = [];
  for (const { name } of tables) {
    const { results } = await env.DB.prepare(`SELECT * FROM "${name.replace(/"/g, '""')}"`).all();
    dumps.push(`${name}: ${JSON.stringify(results)}`);
  }
  return dumps.join("\n");
}

/** Every KV key and value in the revocation namespace, serialised. */
async function dumpKV(): Promise<string> {
  const parts: string[] = [];
  let cursor: string | undefined;
  do {
    const page: KVNamespaceListResult<unknown, string> = await env.REVOCATIONS.list(cursor ? { cursor } : {});
    for (const key of page.keys) parts.push(`${key.name}=${await env.REVOCATIONS.get(key.name)}`);
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return parts.join("\n");
}

async function hmacTagged(secret: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(env.CLIENT_SECRET_PEPPER),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(secret)));
  return `hmac-sha256.v1$${btoa(String.fromCharCode(...mac))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "")}`;
}

beforeAll(warmUpWorker, 60_000);

describe("secrets at rest", () => {
  it("create and regenerate store only tagged HMACs: no secret in D1, KV or any log line", async ({ expect }) => {
    const logs = captureConsole();
    const fetcher = appFetcher();
    const user = newCaller("USER");
    const requestId = newRequestId();
    const res = await call("POST", "/clients", {
      caller: user,
      body: clientBody(),
      headers: { "x-request-id": requestId },
      fetcher,
    });
    expect(res.status).toBe(201);
    const created = (await res.json()) as { client_id: string; client_secret: string };
    await insertConsent({ tenant: user.tenantId, userId: user.userId, clientId: created.client_id });

    const regen = await call("PATCH", `/clients/${created.client_id}/regenerate`, { caller: user, fetcher });
    expect(regen.status).toBe(200);
    const regenerated = ((await regen.json()) as { client_secret: string }).client_secret;
    expect(regenerated).toMatch(/^[A-Za-z0-9]{36}$/);

    // Exercise the other writes too, so their rows and log lines are part of the scan.
    await call("PUT", `/clients/${created.client_id}`, {
      caller: user,
      body: { name: "Renamed", allowed_origins: ["https://example.com"] },
      fetcher,
    });
    await call("PATCH", `/clients/${created.client_id}/activation`, { caller: user, body: { status: false }, fetcher });
    await call("DELETE", `/clients/${created.client_id}/revoke`, { caller: user, fetcher });

    // The only stored form is the tagged HMAC of the current secret.
    const secrets = await storedSecrets(created.client_id);
    expect(secrets.map((s) => s.hash)).toEqual([await hmacTagged(regenerated)]);

    const d1 = await dumpD1();
    const kv = await dumpKV();
    const logged = logs.text();
    // The capture works: the access log line of the create request is in it.
    expect(logged).toContain(requestId);
    for (const secret of [created.client_secret, regenerated]) {
      expect(d1).not.toContain(secret);
      expect(kv).not.toContain(secret);
      expect(logged).not.toContain(secret);
    }
    // Nor do hashes or signatures reach the logs.
    expect(logged).not.toContain("hmac-sha256.v1$");
    expect(logged).not.toMatch(/eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\./);
  });

  it("a client deleted after rotation leaves no secret material behind", async ({ expect }) => {
    const fetcher = appFetcher();
    const user = newCaller("USER");
    const created = await createClientVia(fetcher, user);
    const regen = await call("PATCH", `/clients/${created.client_id}/regenerate`, { caller: user, fetcher });
    const regenerated = ((await regen.json()) as { client_secret: string }).client_secret;
    const hashes = (await storedSecrets(created.client_id)).map((s) => s.hash);
    expect((await call("DELETE", `/clients/${created.client_id}`, { caller: user, fetcher })).status).toBe(200);
    const d1 = await dumpD1();
    for (const needle of [created.client_secret, regenerated, ...hashes]) expect(d1).not.toContain(needle);
  });

  it("a create or regenerate that fails in D1 logs no secret material", async ({ expect }) => {
    const user = newCaller("USER");
    const created = await createClientVia(appFetcher(), user);
    const logs = captureConsole();
    const { db } = faultyD1(env.DB, { breakBatchAt: 1 });
    const fetcher = appFetcher({ env: { DB: db } });
    const failedCreate = await call("POST", "/clients", { caller: user, body: clientBody(), fetcher });
    const failedRegen = await call("PATCH", `/clients/${created.client_id}/regenerate`, { caller: user, fetcher });
    expect(failedCreate.status).toBe(503);
    expect(failedRegen.status).toBe(503);
    for (const res of [failedCreate, failedRegen]) {
      const body = await res.text();
      expect(body).not.toContain("client_secret");
      expect(body).not.toContain("hmac-sha256");
    }
    const logged = logs.text();
    expect(logged).toContain("request failed");
    expect(logged).not.toContain("hmac-sha256.v1$");
    expect(logged).not.toContain(created.client_secret);
  });
});

describe("the secret appears only in the create and regenerate responses", () => {
  it("no other response carries it, whatever the read endpoints answer", async ({ expect }) => {
    const user = newCaller("USER");
    const fetcher = appFetcher();
    const created = await createClientVia(fetcher, user);
    const id = created.client_id;
    const requests: [string, string, unknown][] = [
      ["PUT", `/clients/${id}`, { name: "Renamed", allowed_origins: ["https://example.com"] }],
      ["PATCH", `/clients/${id}/activation`, { status: true }],
      ["GET", `/clients/${id}`, undefined],
      ["GET", "/clients", undefined],
      ["GET", "/clients?limit=50", undefined],
      ["GET", `/clients/${id}/info`, undefined],
      ["GET", "/clients/info?limit=50", undefined],
      ["GET", `/clients/${id}/public/info`, undefined],
      ["GET", "/clients/consents?limit=50", undefined],
      ["GET", "/scopes", undefined],
    ];
    for (const [method, path, body] of requests) {
      const res = await call(method, path, { caller: user, body, fetcher });
      expect(res.status, `${method} ${path}`).toBeLessThan(500);
      const text = await res.text();
      expect(text, `${method} ${path}`).not.toContain(created.client_secret);
      expect(text, `${method} ${path}`).not.toContain("hmac-sha256");
      expect(text, `${method} ${path}`).not.toMatch(/"client_secret"/);
    }
  });
});
