import { env } from "cloudflare:workers";
import { afterEach, describe, it, type MockInstance, vi } from "vitest";
import { call, clientBody, createClientAs } from "../helpers/api";
import { appFetcher } from "../helpers/app";
import { faultyD1 } from "../helpers/faults";
import { docspaceClaims, newCaller, signClaims, signFor } from "../helpers/signature";

// SPEC §5 common behaviour: x-request-id on every response, exactly one JSON access-log line
// per request that never holds a signature or a secret, unknown errors as a generic 500
// problem, and 404 / 405 for unknown routes and wrong methods. The worker runs in this isolate,
// so spying on console sees its log lines; each test picks them out by its own request ids.

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

type LogEntry = Record<string, unknown>;

/** Spies on every console method and returns the calls as text and as parsed JSON lines. */
function captureConsole() {
  const spies: MockInstance[] = (["log", "info", "warn", "error", "debug"] as const).map((level) =>
    vi.spyOn(console, level),
  );
  const calls = () => spies.flatMap((spy) => spy.mock.calls);
  return {
    /** Every argument of every console call, as one string. */
    text: () =>
      calls()
        .flat()
        .map((arg) => (typeof arg === "string" ? arg : JSON.stringify(arg)))
        .join("\n"),
    /** The JSON lines, parsed. */
    entries: (): LogEntry[] =>
      calls().flatMap(([line]) => {
        if (typeof line !== "string") return [];
        try {
          return [JSON.parse(line) as LogEntry];
        } catch {
          return [];
        }
      }),
  };
}

const accessLines = (entries: LogEntry[], requestId: string) =>
  entries.filter((e) => e.msg === "request" && e.request_id === requestId);

const requestId = (label: string) => `${label}-${crypto.randomUUID()}`;

afterEach(() => {
  vi.restoreAllMocks();
});

describe("x-request-id", () => {
  it("is on every response, generated as a UUID when none is sent", async ({ expect }) => {
    const admin = newCaller("ADMIN");
    const { client_id } = await createClientAs(admin);
    const responses = await Promise.all([
      call("POST", "/clients", { caller: admin, body: clientBody() }),
      call("PUT", `/clients/${client_id}`, { caller: admin, body: { name: "x" } }),
      call("DELETE", `/clients/${client_id}/revoke`, { caller: admin }),
      call("PATCH", `/clients/${client_id}/regenerate`),
      call("PUT", `/clients/${crypto.randomUUID()}`, {
        caller: admin,
        body: { name: "Nobody", allowed_origins: ["https://a.example"] },
      }),
      call("GET", `/clients/${client_id}/regenerate`, { caller: admin }),
      call("GET", "/no/such/route"),
      appFetcher()(new Request("http://gateway.test/outside-the-api")),
      call("POST", "/clients", {
        caller: admin,
        body: clientBody(),
        fetcher: appFetcher({ env: { CLIENT_SECRET_PEPPER: "" } }),
      }),
    ]);
    expect(responses.map((r) => r.status)).toEqual([201, 400, 200, 403, 404, 405, 404, 404, 500]);
    const ids = responses.map((r) => r.headers.get("x-request-id") ?? "");
    for (const id of ids) expect(id).toMatch(UUID);
    expect(new Set(ids).size).toBe(ids.length);
    // Problem bodies quote the same id.
    for (const res of responses.filter((r) => r.status >= 400)) {
      expect(((await res.json()) as { request_id: string }).request_id).toBe(res.headers.get("x-request-id"));
    }
  });

  it.for(["req-123", "abc.DEF_456:7", "0b4e9b1c-3f6a-4d5e-9c2b-7a1d2e3f4a5b", "x".repeat(128)])(
    "a sane incoming id %s is echoed",
    async (id, { expect }) => {
      const res = await call("POST", "/clients", {
        caller: newCaller("USER"),
        body: clientBody(),
        headers: { "x-request-id": id },
      });
      expect(res.status).toBe(201);
      expect(res.headers.get("x-request-id")).toBe(id);
    },
  );

  it.for([
    "has space",
    "x".repeat(129),
    "<script>alert(1)</script>",
    "a/b",
    "id;drop",
    '"quoted"',
    "ключ".replace(/./g, "%"),
  ])("an insane incoming id %j is replaced", async (id, { expect }) => {
    const res = await call("PUT", `/clients/${crypto.randomUUID()}`, {
      caller: newCaller("ADMIN"),
      body: { name: "Nobody", allowed_origins: ["https://a.example"] },
      headers: { "x-request-id": id },
    });
    expect(res.status).toBe(404);
    const generated = res.headers.get("x-request-id");
    expect(generated).toMatch(UUID);
    const body = await res.text();
    expect(body).not.toContain(id);
    expect(JSON.parse(body).request_id).toBe(generated);
  });

  it("an empty incoming id is replaced", async ({ expect }) => {
    const res = await call("GET", "/no/such/route", { headers: { "x-request-id": "" } });
    expect(res.headers.get("x-request-id")).toMatch(UUID);
  });
});

describe("access log", () => {
  it("writes exactly one JSON line per request with method, route, status, duration, id, tenant and user", async ({
    expect,
  }) => {
    const admin = newCaller("ADMIN");
    const { client_id } = await createClientAs(admin);
    const console = captureConsole();
    const id = requestId("log");
    const res = await call("PUT", `/clients/${client_id}`, {
      caller: admin,
      body: { name: "Logged", allowed_origins: ["https://a.example"] },
      headers: { "x-request-id": id },
    });
    expect(res.status).toBe(200);
    const lines = accessLines(console.entries(), id);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      method: "PUT",
      route: "/api/2.0/clients/:clientId",
      status: 200,
      request_id: id,
      tenant: admin.tenantId,
      user: admin.userId,
    });
    expect(typeof lines[0]?.duration_ms).toBe("number");
    expect(lines[0]?.duration_ms).toBeGreaterThanOrEqual(0);
    // The route is the pattern, not the concrete path with its id.
    expect(JSON.stringify(lines[0])).not.toContain(client_id);
  });

  it("logs errors once too, with a null tenant and user for unsigned requests", async ({ expect }) => {
    const console = captureConsole();
    const cases: [string, string, number][] = [
      ["POST", "/clients", 403],
      ["GET", "/no/such/route", 404],
      ["PATCH", "/clients", 405],
    ];
    for (const [method, path, status] of cases) {
      const id = requestId("err");
      const res = await call(method, path, {
        body: method === "GET" ? undefined : {},
        headers: { "x-request-id": id },
      });
      expect(res.status).toBe(status);
      const lines = accessLines(console.entries(), id);
      expect(lines, `${method} ${path}`).toHaveLength(1);
      expect(lines[0]).toMatchObject({ method, status, tenant: null, user: null, request_id: id });
    }
  });

  it("never contains a signature, valid or not, nor a client secret", async ({ expect }) => {
    const admin = newCaller("ADMIN");
    const console = captureConsole();
    const signature = await signFor(admin);
    const forged = await signClaims(docspaceClaims(admin), { machineKey: "attacker" });
    const expired = await signFor(admin, { exp: Math.floor(Date.now() / 1000) - 3600 });

    const created = await call("POST", "/clients", { signature, body: clientBody() });
    const { client_id, client_secret } = (await created.json()) as { client_id: string; client_secret: string };
    const regenerated = await call("PATCH", `/clients/${client_id}/regenerate`, {
      headers: { cookie: `theme=dark; x-signature=${signature}` },
    });
    const { client_secret: newSecret } = (await regenerated.json()) as { client_secret: string };
    expect([created.status, regenerated.status]).toEqual([201, 200]);
    for (const bad of [forged, expired, `${signature}x`]) {
      expect((await call("PUT", `/clients/${client_id}`, { signature: bad, body: { name: "x" } })).status).toBe(403);
    }
    // A failure deep in a handler is logged as well: its log must not carry request data either.
    const failing = appFetcher({ env: { CLIENT_SECRET_PEPPER: "" } });
    expect((await call("PATCH", `/clients/${client_id}/regenerate`, { signature, fetcher: failing })).status).toBe(500);

    const logged = console.text();
    // The capture worked: the six requests above each wrote their access line.
    expect(console.entries().filter((e) => e.msg === "request").length).toBeGreaterThanOrEqual(6);
    for (const token of [signature, forged, expired]) {
      expect(logged).not.toContain(token);
      // Not even a part of it: the payload or MAC segment alone.
      for (const segment of token.split(".").slice(1)) expect(logged).not.toContain(segment);
    }
    expect(logged).not.toContain(client_secret);
    expect(logged).not.toContain(newSecret);
    expect(logged).not.toContain(env.CLIENT_SECRET_PEPPER);
    expect(logged).not.toContain(env.DOCSPACE_MACHINE_KEY);
  });

  it("records why a signature was refused without echoing it", async ({ expect }) => {
    const console = captureConsole();
    const id = requestId("auth");
    const admin = newCaller("ADMIN");
    const expired = await signFor(admin, { exp: Math.floor(Date.now() / 1000) - 3600 });
    await call("POST", "/clients", { signature: expired, body: clientBody(), headers: { "x-request-id": id } });
    const lines = accessLines(console.entries(), id);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ status: 403, auth_failure: "expired", tenant: null, user: null });
  });
});

describe("unknown errors", () => {
  it("become a generic 500 problem with no internal message, logged with the request id", async ({ expect }) => {
    const console = captureConsole();
    const admin = newCaller("ADMIN");
    const id = requestId("boom");
    // An empty pepper makes secret hashing throw an ordinary Error inside the service.
    const res = await call("POST", "/clients", {
      caller: admin,
      body: clientBody(),
      headers: { "x-request-id": id },
      fetcher: appFetcher({ env: { CLIENT_SECRET_PEPPER: "" } }),
    });
    expect(res.status).toBe(500);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(res.headers.get("x-request-id")).toBe(id);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({
      type: expect.stringMatching(/#internal-error$/),
      title: "Internal Server Error",
      status: 500,
      detail: expect.any(String),
      instance: "/api/2.0/clients",
      request_id: id,
    });
    for (const leak of ["PEPPER", "configured", "Error:", "at ", "src/", ".ts"]) expect(text).not.toContain(leak);

    // Nothing was stored.
    const stored = await env.DB.prepare("SELECT COUNT(*) AS n FROM clients WHERE tenant = ?")
      .bind(admin.tenantId)
      .first("n");
    expect(stored).toBe(0);

    // The cause is logged server-side, once, with the request id; the access line says 500.
    const entries = console.entries();
    const failures = entries.filter((e) => e.msg === "request failed" && e.request_id === id);
    expect(failures).toHaveLength(1);
    expect(String(failures[0]?.error)).toContain("CLIENT_SECRET_PEPPER");
    expect(accessLines(entries, id)).toEqual([expect.objectContaining({ status: 500, level: "error" })]);
  });

  it("a failed D1 query is logged without its bound parameters", async ({ expect }) => {
    const admin = newCaller("ADMIN");
    const { client_id } = await createClientAs(admin);
    const console = captureConsole();
    const id = requestId("d1");
    // The first D1 call of an update is the lookup whose bound parameter is the client id.
    const { db } = faultyD1(env.DB, { failAt: 1 });
    const res = await call("PUT", `/clients/${client_id}`, {
      caller: admin,
      body: { name: "Never stored", allowed_origins: ["https://a.example"] },
      headers: { "x-request-id": id },
      fetcher: appFetcher({ env: { DB: db } }),
    });
    expect(res.status).toBe(503);
    const failures = console.entries().filter((e) => e.msg === "request failed" && e.request_id === id);
    expect(failures).toHaveLength(1);
    // The cause is kept, the query's parameters (request data) are not.
    expect(String(failures[0]?.error)).toContain("injected fault");
    expect(console.text()).not.toContain(client_id);
  });

  it("a failing regenerate leaves the old secret in place", async ({ expect }) => {
    const admin = newCaller("ADMIN");
    const { client_id } = await createClientAs(admin);
    const secrets = () =>
      env.DB.prepare("SELECT hash, expires_on FROM client_secrets WHERE client_id = ? ORDER BY id")
        .bind(client_id)
        .all();
    const before = (await secrets()).results;
    const res = await call("PATCH", `/clients/${client_id}/regenerate`, {
      caller: admin,
      fetcher: appFetcher({ env: { CLIENT_SECRET_PEPPER: "" } }),
    });
    expect(res.status).toBe(500);
    expect(await res.text()).not.toMatch(/client_secret/);
    expect((await secrets()).results).toEqual(before);
  });
});

describe("unknown routes and wrong methods", () => {
  it.for(["/no/such/route", "/clients/x/y/z", "/client"])("GET %s is a 404 problem", async (path, { expect }) => {
    const res = await call("GET", path);
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(res.headers.get("allow")).toBeNull();
    const problem = (await res.json()) as Record<string, unknown>;
    expect(problem).toMatchObject({ status: 404, title: "Not Found", instance: `/api/2.0${path}` });
    expect(String(problem.type)).toMatch(/#not-found$/);
  });

  it("a path outside the API is a 404 problem too", async ({ expect }) => {
    const res = await appFetcher()(new Request("http://gateway.test/wp-admin.php"));
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
  });

  it.for([
    ["GET", "/clients/{id}/regenerate", "PATCH"],
    ["POST", "/clients/{id}/activation", "PATCH"],
    ["PUT", "/clients/{id}/revoke", "DELETE"],
    ["POST", "/clients/{id}/revoke", "DELETE"],
  ] as const)("%s %s is 405 with Allow: %s", async ([method, template, allow], { expect }) => {
    const path = template.replace("{id}", crypto.randomUUID());
    const res = await call(method, path, { caller: newCaller("ADMIN") });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe(allow);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const problem = (await res.json()) as Record<string, unknown>;
    expect(problem).toMatchObject({ status: 405, title: "Method Not Allowed", instance: `/api/2.0${path}` });
    expect(String(problem.type)).toMatch(/#method-not-allowed$/);
  });

  it("Allow lists every method of a path with several operations", async ({ expect }) => {
    const id = crypto.randomUUID();
    const onClient = await call("POST", `/clients/${id}`, { caller: newCaller("ADMIN") });
    expect(onClient.status).toBe(405);
    const allowed = (onClient.headers.get("allow") ?? "").split(", ");
    expect(allowed).toEqual(expect.arrayContaining(["DELETE", "PUT"]));
    expect(allowed).not.toContain("POST");
    const onCollection = await call("PATCH", "/clients", { caller: newCaller("ADMIN") });
    expect(onCollection.status).toBe(405);
    expect(onCollection.headers.get("allow")?.split(", ")).toContain("POST");
  });

  it("a wrong method changes nothing", async ({ expect }) => {
    const admin = newCaller("ADMIN");
    const { client_id } = await createClientAs(admin);
    const before = await env.DB.prepare("SELECT * FROM clients WHERE client_id = ?").bind(client_id).first();
    const res = await call("POST", `/clients/${client_id}/regenerate`, { caller: admin });
    expect(res.status).toBe(405);
    expect(await env.DB.prepare("SELECT * FROM clients WHERE client_id = ?").bind(client_id).first()).toEqual(before);
  });
});
