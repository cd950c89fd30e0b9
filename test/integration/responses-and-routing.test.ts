import { exports } from "cloudflare:workers";
import { afterEach, describe, it, vi } from "vitest";
import { BASE, call, clientBody, createClientAs } from "../helpers/api";
import { appFetcher } from "../helpers/app";
import { serviceCall } from "../helpers/service";
import { newCaller } from "../helpers/signature";

// Issue 12 items 4–8 and 13: credentials are never cached, 404/405 agree with the router, any
// non-client id is `invalid_client`, the access log names the route that served the request, and
// `GET /` says where the docs are.

afterEach(() => {
  vi.restoreAllMocks();
});

/** The access-log lines written while `run` ran, keyed by nothing: the caller filters by request id. */
async function accessRouteOf(send: (requestId: string) => Promise<Response>): Promise<unknown> {
  const log = vi.spyOn(console, "log");
  const id = `route-${crypto.randomUUID()}`;
  const response = await send(id);
  await response.body?.cancel();
  const lines = log.mock.calls
    .map(([line]) => (typeof line === "string" ? (JSON.parse(line) as Record<string, unknown>) : {}))
    .filter((entry) => entry.msg === "request" && entry.request_id === id);
  log.mockRestore();
  return lines.map((entry) => entry.route);
}

describe("Cache-Control: no-store on credentials (RFC 6749 §5.1)", () => {
  it("is on createClient's 201, which carries the client_secret", async ({ expect }) => {
    const response = await call("POST", "/clients", { caller: newCaller("ADMIN"), body: clientBody() });
    expect(response.status).toBe(201);
    expect(((await response.json()) as { client_secret?: string }).client_secret).toBeTypeOf("string");
    expect(response.headers.get("cache-control")).toBe("no-store");
  });

  it("is on regenerateSecret's 200, with or without a grace period", async ({ expect }) => {
    const admin = newCaller("ADMIN");
    const { client_id } = await createClientAs(admin);
    for (const query of ["", "?grace_period=60"]) {
      const response = await call("PATCH", `/clients/${client_id}/regenerate${query}`, { caller: admin });
      expect(response.status).toBe(200);
      await response.body?.cancel();
      expect(response.headers.get("cache-control")).toBe("no-store");
    }
  });

  it("is on every service route's answer, success or failure", async ({ expect }) => {
    const admin = newCaller("ADMIN");
    const { client_id, client_secret } = await createClientAs(admin);
    const responses = await Promise.all([
      serviceCall("POST", `/oauth2/clients/${client_id}/authenticate`, { body: { client_secret } }),
      serviceCall("POST", `/oauth2/clients/${client_id}/authenticate`, { body: { client_secret: "wrong" } }),
      serviceCall("POST", "/oauth2/tokens/status", {
        body: { client_id, user_id: admin.userId, issued_at: 1_700_000_000 },
      }),
      serviceCall("POST", "/oauth2/tokens/status", { token: null, body: {} }),
    ]);
    expect(responses.map((r) => r.status)).toEqual([200, 401, 200, 401]);
    for (const response of responses) {
      await response.body?.cancel();
      expect(response.headers.get("cache-control")).toBe("no-store");
    }
  });

  it("is not forced on reads that carry no credential", async ({ expect }) => {
    const admin = newCaller("ADMIN");
    const { client_id } = await createClientAs(admin);
    const response = await call("GET", `/clients/${client_id}`, { caller: admin });
    expect(response.status).toBe(200);
    await response.body?.cancel();
    expect(response.headers.get("cache-control")).toBeNull();
  });
});

describe("404 and 405 agree with the router", () => {
  it.for([
    ["GET", "/scopes//"],
    ["GET", "/clients//"],
    ["POST", "/clients//"],
    ["DELETE", "/clients/tenant//"],
  ])("%s %s is a path no route serves: 404", async ([method, path], { expect }) => {
    const response = await call(method as string, path as string, { caller: newCaller("ADMIN") });
    expect(response.status).toBe(404);
    expect(response.headers.get("allow")).toBeNull();
    expect(((await response.json()) as { detail: string }).detail).toBe("No such route.");
  });

  it("a known path with a single trailing slash is still served, and a wrong method there is 405", async ({
    expect,
  }) => {
    const admin = newCaller("ADMIN");
    const served = await call("GET", "/scopes/", { caller: admin });
    expect(served.status).toBe(200);
    await served.body?.cancel();
    const wrong = await call("POST", "/scopes/", { caller: admin, body: {} });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("GET, HEAD");
    expect(((await wrong.json()) as { detail: string }).detail).toBe("POST is not supported here; use GET, HEAD.");
  });
});

describe("POST /oauth2/clients/{id}/authenticate", () => {
  it.for([1, 36, 128, 129, 200, 2000])(
    "an id of %i characters that is not a client is 401 invalid_client",
    async (length, { expect }) => {
      const id = "a".repeat(length);
      const response = await serviceCall("POST", `/oauth2/clients/${id}/authenticate`, {
        body: { client_secret: "x".repeat(36) },
      });
      expect(response.status).toBe(401);
      expect(((await response.json()) as { type: string }).type).toMatch(/#invalid-client$/);
    },
  );
});

describe("the access log names the route that served the request", () => {
  it.for([
    ["GET", "/clients/info?limit=5", "/api/2.0/clients/info"],
    ["GET", "/clients/consents?limit=5", "/api/2.0/clients/consents"],
    ["DELETE", "/clients/tenant", "/api/2.0/clients/tenant"],
    ["GET", "/clients/00000000-0000-4000-8000-000000000000", "/api/2.0/clients/:clientId"],
    ["GET", "/no/such/route", "unmatched"],
  ])("%s %s → %s", async ([method, path, route], { expect }) => {
    const admin = newCaller("ADMIN");
    const routes = await accessRouteOf((id) =>
      call(method as string, path as string, { caller: admin, headers: { "x-request-id": id } }),
    );
    expect(routes).toEqual([route]);
  });

  it("names the route of a request the rate limiter or a route middleware refused", async ({ expect }) => {
    const routes = await accessRouteOf((id) =>
      call("GET", "/clients/info?limit=5", { headers: { "x-request-id": id } }),
    );
    expect(routes).toEqual(["/api/2.0/clients/info"]);
  });
});

describe("GET /", () => {
  it("answers JSON with where the docs and the OpenAPI document are", async ({ expect }) => {
    const response = await exports.default.fetch(new Request(new URL("/", BASE)));
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await response.json()).toMatchObject({ docs: "/api/2.0/docs", openapi: "/api/2.0/openapi.json" });
    expect(response.headers.get("x-request-id")).toBeTruthy();
  });

  it("answers a browser with a small page linking to the same places", async ({ expect }) => {
    const response = await exports.default.fetch(
      new Request(new URL("/", BASE), { headers: { accept: "text/html,application/xhtml+xml,*/*;q=0.8" } }),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/html/);
    expect(response.headers.get("content-security-policy")).toContain("default-src 'none'");
    const page = await response.text();
    expect(page).toContain('href="/api/2.0/docs"');
    expect(page).toContain('href="/api/2.0/openapi.json"');
  });
});

describe("the docs page's static files", () => {
  it("are served with the request id like every response", async ({ expect }) => {
    const response = await call("GET", "/docs/assets/swagger-ui.css");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/css/);
    expect(response.headers.get("x-request-id")).toBeTruthy();
    await response.body?.cancel();
  });

  it("answer a missing file with the problem+json 404 of any unknown path", async ({ expect }) => {
    const response = await call("GET", "/docs/assets/no-such-file.js");
    expect(response.status).toBe(404);
    expect(response.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    const body = (await response.json()) as { status: number; request_id: string; instance: string };
    expect(body.status).toBe(404);
    expect(body.request_id).toBe(response.headers.get("x-request-id"));
    expect(body.instance).toBe("/api/2.0/docs/assets/no-such-file.js");
  });
});

describe("the docs page's static files when the asset store fails", () => {
  it("answer 503, not a 500", async ({ expect }) => {
    const failingAssets = { fetch: () => Promise.reject(new Error("asset store down")) } as unknown as Fetcher;
    const fetcher = appFetcher({ env: { ASSETS: failingAssets } });
    const response = await call("GET", "/docs/assets/swagger-ui.css", { fetcher });
    expect(response.status).toBe(503);
    expect(response.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  });
});
