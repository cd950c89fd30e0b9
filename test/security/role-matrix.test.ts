import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import { clientRevocationKey, consentRevocationKey } from "../../src/revocation/revocations";
import { call, clientBody, createClientAs } from "../helpers/api";
import { type Caller, newCaller, uniqueTenant } from "../helpers/signature";

// The permission matrix of SPEC §3.1 and §4 for the six client-management operations:
// ADMIN / USER / GUEST × own client / another user's client in the same tenant / a client of
// another tenant. ADMIN manages its whole tenant, USER its own clients, GUEST nothing; a client
// the caller may not see is 404 (no existence leak); revoke is 200 for every signed role.
// Every refused call leaves the target client exactly as it was.

type Role = Caller["role"];
type Relation = "own" | "same tenant, other user" | "other tenant";
type Operation = "update" | "delete" | "regenerate" | "activation" | "revoke";

const ROLES: Role[] = ["ADMIN", "USER", "GUEST"];
const RELATIONS: Relation[] = ["own", "same tenant, other user", "other tenant"];
const OPERATIONS: Operation[] = ["update", "delete", "regenerate", "activation", "revoke"];

/** SPEC §4: the exact status for each cell. */
function expectedStatus(role: Role, relation: Relation, operation: Operation): number {
  if (operation === "revoke") return 200;
  if (role === "GUEST") return 403;
  if (relation === "own") return 200;
  if (relation === "same tenant, other user") return role === "ADMIN" ? 200 : 404;
  return 404;
}

function request(operation: Operation, clientId: string): [method: string, path: string, body: unknown] {
  const requests: Record<Operation, [string, string, unknown]> = {
    update: ["PUT", `/clients/${clientId}`, { name: "Renamed by matrix", allowed_origins: ["https://m.example"] }],
    delete: ["DELETE", `/clients/${clientId}`, undefined],
    regenerate: ["PATCH", `/clients/${clientId}/regenerate`, undefined],
    activation: ["PATCH", `/clients/${clientId}/activation`, { status: false }],
    revoke: ["DELETE", `/clients/${clientId}/revoke`, undefined],
  };
  return requests[operation];
}

/**
 * Makes the target client for a cell. An "own" client of a GUEST is one the same user created
 * while it still had the USER role (a demoted user), since a GUEST cannot create clients.
 */
async function targetClient(caller: Caller, relation: Relation): Promise<string> {
  const creator: Caller =
    relation === "own"
      ? { ...caller, role: caller.role === "GUEST" ? "USER" : caller.role }
      : relation === "same tenant, other user"
        ? newCaller("USER", caller.tenantId)
        : newCaller("USER", uniqueTenant());
  return (await createClientAs(creator)).client_id;
}

async function clientState(clientId: string) {
  const [client, secrets] = await Promise.all([
    env.DB.prepare("SELECT * FROM clients WHERE client_id = ?").bind(clientId).first(),
    env.DB.prepare("SELECT hash, expires_on FROM client_secrets WHERE client_id = ? ORDER BY id").bind(clientId).all(),
  ]);
  return { client, secrets: secrets.results, revoked: await env.REVOCATIONS.get(clientRevocationKey(clientId)) };
}

const consentOf = (caller: Caller, clientId: string) =>
  env.DB.prepare("SELECT scopes FROM consents WHERE tenant = ? AND user_id = ? AND client_id = ?")
    .bind(caller.tenantId, caller.userId, clientId)
    .first();

const cells = ROLES.flatMap((role) =>
  RELATIONS.flatMap((relation) =>
    OPERATIONS.map((operation) => ({ role, relation, operation, status: expectedStatus(role, relation, operation) })),
  ),
);

describe("POST /clients by role (no client dimension)", () => {
  // `it.for` is vitest's `test.each` that also passes the test context.
  it.for([
    { role: "ADMIN" as const, status: 201 },
    { role: "USER" as const, status: 201 },
    { role: "GUEST" as const, status: 403 },
  ])("$role → $status", async ({ role, status }, { expect }) => {
    const caller = newCaller(role);
    const res = await call("POST", "/clients", { caller, body: clientBody() });
    expect(res.status).toBe(status);
    const stored = await env.DB.prepare("SELECT COUNT(*) AS n FROM clients WHERE tenant = ?")
      .bind(caller.tenantId)
      .first("n");
    expect(stored).toBe(status === 201 ? 1 : 0);
    if (status === 403) {
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      expect(((await res.json()) as { type: string }).type).toMatch(/#forbidden$/);
    }
  });
});

describe("client operations: role × relation × operation", () => {
  it.for(cells)("$role on a client ($relation): $operation → $status", async (cell, { expect }) => {
    const caller = newCaller(cell.role);
    const clientId = await targetClient(caller, cell.relation);
    // A consent of the caller for the client, so revoke has something to remove.
    await env.DB.prepare(
      "INSERT INTO consents (tenant, user_id, client_id, scopes, modified_on) VALUES (?, ?, ?, ?, ?)",
    )
      .bind(caller.tenantId, caller.userId, clientId, "openid files:read", Date.now())
      .run();
    const before = await clientState(clientId);

    const [method, path, body] = request(cell.operation, clientId);
    const res = await call(method, path, { caller, body });
    const text = await res.text();
    expect(res.status, text).toBe(cell.status);

    if (cell.status !== 200) {
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      expect(JSON.parse(text).type).toMatch(cell.status === 403 ? /#forbidden$/ : /#not-found$/);
      expect(await clientState(clientId)).toEqual(before);
      expect(await consentOf(caller, clientId)).not.toBeNull();
      return;
    }

    const after = await clientState(clientId);
    switch (cell.operation) {
      case "update":
        expect(text).toBe("{}");
        expect(after.client).toMatchObject({ name: "Renamed by matrix", modified_by: caller.userId });
        break;
      case "delete":
        expect(text).toBe("{}");
        expect(after.client).toBeNull();
        expect(after.revoked).not.toBeNull();
        break;
      case "regenerate":
        expect(JSON.parse(text).client_secret).toMatch(/^[A-Za-z0-9]{36}$/);
        expect(after.secrets).not.toEqual(before.secrets);
        break;
      case "activation":
        expect(text).toBe("{}");
        expect(after.client).toMatchObject({ enabled: 0 });
        break;
      case "revoke":
        expect(text).toBe("{}");
        // Revoke touches only the caller's own consent and tokens, never the client itself.
        expect(after).toEqual(before);
        expect(await consentOf(caller, clientId)).toBeNull();
        expect(await env.REVOCATIONS.get(consentRevocationKey(clientId, caller.userId))).not.toBeNull();
        break;
    }
  });
});
