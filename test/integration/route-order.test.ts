import { describe, it } from "vitest";
import { createApp } from "../../src/app";
import { API_BASE } from "../../src/lib/paths";
import { call, createClientAs } from "../helpers/api";
import { CLIENT_ID_ENDPOINTS, COLLECTION_ENDPOINTS } from "../helpers/reliability";
import { newCaller } from "../helpers/signature";

/**
 * Route registration order (src/routes/index.ts). Hono tries routes in the order they were
 * registered, so a literal segment (`/clients/info`) must come before a parameter at the same
 * place (`/clients/:clientId`) or the parameter route takes the request (SPEC §4).
 */

/** A route with the positions of its first and last handler (middleware, validators, handler) in match order. */
type Route = { method: string; path: string; first: number; last: number };

const ROUTES: Route[] = (() => {
  const byKey = new Map<string, Route>();
  createApp().routes.forEach((r, index) => {
    const path = r.path.replace(/\/$/, "");
    if (r.method === "ALL" || path.includes("*")) return;
    const key = `${r.method} ${path}`;
    const known = byKey.get(key);
    if (known) known.last = index;
    else byKey.set(key, { method: r.method, path, first: index, last: index });
  });
  return [...byKey.values()];
})();

/** Whether `literal` is a path that the parameter route `pattern` would also match. */
function shadows(pattern: string, literal: string): boolean {
  const p = pattern.split("/");
  const l = literal.split("/");
  if (p.length !== l.length || pattern === literal) return false;
  return p.every((segment, i) => segment === l[i] || (segment.startsWith(":") && !l[i]?.startsWith(":")));
}

/** Every (literal route, parameter route) pair of one method where the parameter route matches the literal path. */
const CONTESTED = ROUTES.flatMap((param) =>
  ROUTES.filter((literal) => literal.method === param.method && shadows(param.path, literal.path)).map((literal) => ({
    literal,
    param,
  })),
);

describe("route order", () => {
  it("finds the contested paths of SPEC §4 (info, consents, tenant)", ({ expect }) => {
    const literals = new Set(CONTESTED.map((c) => `${c.literal.method} ${c.literal.path}`));
    expect(literals).toEqual(
      new Set([
        `GET ${API_BASE}/clients/info`,
        `GET ${API_BASE}/clients/consents`,
        `DELETE ${API_BASE}/clients/tenant`,
      ]),
    );
  });

  it.for(CONTESTED.map((c) => [`${c.literal.method} ${c.literal.path} before ${c.param.path}`, c] as const))(
    "%s",
    ([, { literal, param }], { expect }) => {
      // Every handler of the literal route runs before the first of the parameter route.
      expect(literal.last).toBeLessThan(param.first);
    },
  );

  it("serves each literal path with its own route, not as a client id", async ({ expect }) => {
    const admin = newCaller("ADMIN");
    await createClientAs(admin);
    const info = await call("GET", "/clients/info?limit=5", { caller: admin });
    expect(info.status).toBe(200);
    expect(((await info.json()) as { data: unknown[] }).data).toHaveLength(1);
    const consents = await call("GET", "/clients/consents?limit=5", { caller: admin });
    expect(consents.status).toBe(200);
    expect(await consents.json()).toMatchObject({ data: [], last_modified_on: null });
    const tenant = await call("DELETE", "/clients/tenant", { caller: admin });
    expect(tenant.status).toBe(200);
    const after = await call("GET", "/clients/info?limit=5", { caller: admin });
    expect(((await after.json()) as { data: unknown[] }).data).toHaveLength(0);
  });
});

describe("the endpoint tables of the reliability suites", () => {
  it.for([...CLIENT_ID_ENDPOINTS, ...COLLECTION_ENDPOINTS].map((e) => [e.id, e] as const))(
    "%s is registered by the app, so no suite silently skips it",
    ([, endpoint], { expect }) => {
      const registered = ROUTES.some(
        (r) => r.method === endpoint.method && r.path === `${API_BASE}${endpoint.template}`,
      );
      expect(registered).toBe(true);
    },
  );
});
