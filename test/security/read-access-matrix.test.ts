import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import { call, createClientAs } from "../helpers/api";
import { type Caller, newCaller, uniqueTenant } from "../helpers/signature";

// SPEC §4 access rules for every endpoint of issue 3, as role × relation to the target:
// ADMIN acts on its tenant, USER on its own clients, GUEST only on 4.11, 4.12 and 4.13; a client the
// caller may not see is 404, never 403; public info needs no signature at all.

type Role = Caller["role"];
type Relation = "own" | "same tenant" | "other tenant";
/** `effect`: for lists, whether the target is listed; for deletes, whether the target is gone. */
type Outcome = { status: number; effect?: boolean };

type Setup = { caller: Caller; clientId: string };

/**
 * The caller and a client in the given relation to it. "own" is created by the caller's user id in
 * its tenant; "same tenant" by another user of that tenant; "other tenant" by the caller's very
 * user id in another tenant, so only the tenant check keeps it out of reach. Each case also gets a
 * consent in the same relation: the caller's own, another user's in the tenant, the caller's user
 * id's in the other tenant.
 */
async function arrange(role: Role, relation: Relation): Promise<Setup> {
  const caller = newCaller(role);
  const creator: Caller =
    relation === "own"
      ? { ...caller, role: "USER" }
      : relation === "same tenant"
        ? newCaller("USER", caller.tenantId)
        : { userId: caller.userId, tenantId: uniqueTenant(), role: "USER" };
  const { client_id: clientId } = await createClientAs(creator);
  const consentHolder = relation === "same tenant" ? creator : { ...caller, tenantId: creator.tenantId };
  await env.DB.prepare(
    "INSERT INTO consents (tenant, user_id, client_id, scopes, modified_on) VALUES (?, ?, ?, 'openid', ?)",
  )
    .bind(consentHolder.tenantId, consentHolder.userId, clientId, Date.UTC(2026, 10, 1))
    .run();
  return { caller, clientId };
}

async function clientExists(clientId: string): Promise<boolean> {
  return (await env.DB.prepare("SELECT 1 AS x FROM clients WHERE client_id = ?").bind(clientId).first("x")) === 1;
}

type Endpoint = {
  name: string;
  /** Performs the call; returns the status and, where it applies, the observed effect. */
  run: (setup: Setup, signed: boolean) => Promise<Outcome>;
  expected: Record<Role, Record<Relation, Outcome>>;
  /** Status without any signature. */
  unsigned: number;
};

const same = (outcome: Outcome): Record<Relation, Outcome> => ({
  own: outcome,
  "same tenant": outcome,
  "other tenant": outcome,
});
const byRelation = (own: Outcome, sameTenant: Outcome, otherTenant: Outcome): Record<Relation, Outcome> => ({
  own,
  "same tenant": sameTenant,
  "other tenant": otherTenant,
});

const single =
  (path: (id: string) => string) =>
  async ({ caller, clientId }: Setup, signed: boolean) => {
    const res = await call("GET", path(clientId), signed ? { caller } : {});
    return { status: res.status };
  };

const listed =
  (path: string, idOf: (item: Record<string, unknown>) => unknown) =>
  async ({ caller, clientId }: Setup, signed: boolean): Promise<Outcome> => {
    const res = await call("GET", path, signed ? { caller } : {});
    if (res.status !== 200) return { status: res.status };
    const page = (await res.json()) as { data: Record<string, unknown>[] };
    return { status: 200, effect: page.data.some((item) => idOf(item) === clientId) };
  };

const deleting =
  (path: string) =>
  async ({ caller, clientId }: Setup, signed: boolean): Promise<Outcome> => {
    const res = await call("DELETE", path, signed ? { caller } : {});
    return { status: res.status, effect: !(await clientExists(clientId)) };
  };

const manageOne = {
  ADMIN: byRelation({ status: 200 }, { status: 200 }, { status: 404 }),
  USER: byRelation({ status: 200 }, { status: 404 }, { status: 404 }),
  GUEST: same({ status: 403 }),
};
const manageList = {
  ADMIN: byRelation({ status: 200, effect: true }, { status: 200, effect: true }, { status: 200, effect: false }),
  USER: byRelation({ status: 200, effect: true }, { status: 200, effect: false }, { status: 200, effect: false }),
  GUEST: same({ status: 403 }),
};
const ownConsentOnly = byRelation(
  { status: 200, effect: true },
  { status: 200, effect: false },
  { status: 200, effect: false },
);

const ENDPOINTS: Endpoint[] = [
  { name: "GET /clients/{id}", run: single((id) => `/clients/${id}`), expected: manageOne, unsigned: 403 },
  { name: "GET /clients/{id}/info", run: single((id) => `/clients/${id}/info`), expected: manageOne, unsigned: 403 },
  {
    name: "GET /clients/{id}/public/info",
    run: single((id) => `/clients/${id}/public/info`),
    expected: { ADMIN: same({ status: 200 }), USER: same({ status: 200 }), GUEST: same({ status: 200 }) },
    unsigned: 200,
  },
  {
    name: "GET /clients",
    run: listed("/clients?limit=50", (item) => item.client_id),
    expected: manageList,
    unsigned: 403,
  },
  {
    name: "GET /clients/info",
    run: listed("/clients/info?limit=50", (item) => item.client_id),
    expected: manageList,
    unsigned: 403,
  },
  {
    name: "GET /clients/consents",
    run: listed("/clients/consents?limit=50", (item) => item.registered_client_id),
    expected: { ADMIN: ownConsentOnly, USER: ownConsentOnly, GUEST: ownConsentOnly },
    unsigned: 403,
  },
  {
    name: "GET /scopes",
    run: async ({ caller }, signed) => ({ status: (await call("GET", "/scopes", signed ? { caller } : {})).status }),
    expected: { ADMIN: same({ status: 200 }), USER: same({ status: 200 }), GUEST: same({ status: 200 }) },
    unsigned: 403,
  },
  {
    name: "DELETE /clients",
    run: deleting("/clients"),
    expected: {
      ADMIN: byRelation({ status: 200, effect: true }, { status: 200, effect: false }, { status: 200, effect: false }),
      USER: byRelation({ status: 200, effect: true }, { status: 200, effect: false }, { status: 200, effect: false }),
      GUEST: same({ status: 403, effect: false }),
    },
    unsigned: 403,
  },
  {
    name: "DELETE /clients/tenant",
    run: deleting("/clients/tenant"),
    expected: {
      ADMIN: byRelation({ status: 200, effect: true }, { status: 200, effect: true }, { status: 200, effect: false }),
      USER: same({ status: 403, effect: false }),
      GUEST: same({ status: 403, effect: false }),
    },
    unsigned: 403,
  },
];

const ROLES: Role[] = ["ADMIN", "USER", "GUEST"];
const RELATIONS: Relation[] = ["own", "same tenant", "other tenant"];

const cases = ENDPOINTS.flatMap((endpoint) =>
  ROLES.flatMap((role) =>
    RELATIONS.map((relation) => ({
      endpoint: endpoint.name,
      role,
      relation,
      expected: endpoint.expected[role][relation],
    })),
  ),
);

const endpointNamed = (name: string) => ENDPOINTS.find((e) => e.name === name) as Endpoint;

// Generous timeouts: the first case pays the runtime warm-up, and the machine is shared.
describe("role × relation matrix", { timeout: 30_000 }, () => {
  // test.for (test.each with the test context as second argument), so `expect` is the test's own.
  it.for(cases)("$endpoint as $role, target $relation", async ({ endpoint, role, relation, expected }, { expect }) => {
    const setup = await arrange(role, relation);
    const outcome = await endpointNamed(endpoint).run(setup, true);
    expect(outcome).toEqual(expected);
  });
});

describe("without a signature", { timeout: 30_000 }, () => {
  it.for(ENDPOINTS.map((e) => ({ endpoint: e.name, status: e.unsigned })))(
    "$endpoint answers $status",
    async ({ endpoint, status }, { expect }) => {
      const setup = await arrange("ADMIN", "own");
      const outcome = await endpointNamed(endpoint).run(setup, false);
      expect(outcome.status).toBe(status);
      // Nothing was deleted by an unsigned request.
      expect(await clientExists(setup.clientId)).toBe(true);
    },
  );
});
