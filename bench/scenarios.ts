/**
 * The benchmark's scenarios: the no-op ceiling, each endpoint beside its storage floor, the same
 * endpoints with the rate limiter on, and the scale pages. Endpoint scenarios send
 * `x-bench-limiter: off` (see bench/bench-worker.ts) so they measure the path, not the limiter.
 */
import type { RequestShape } from "./load.ts";
import { BENCH_CLIENTS, BENCH_REGENERATE_POOL, BENCH_USERS } from "./seed.ts";

export type ScenarioKind = "baseline" | "endpoint" | "floor" | "limiter" | "scale" | "scale-floor";

export type Scenario = {
  id: string;
  label: string;
  kind: ScenarioKind;
  request: RequestShape;
  /** Endpoint → its storage floor; limiter → the same endpoint without the limiter. */
  compareTo?: string;
  /** Routes that may not exist yet are probed first and skipped when they answer 404/405. */
  optional?: boolean;
};

export type ScenarioInputs = {
  signatures: { tenant1: string; tenant2: string; tenant3: string };
  serviceToken: string;
  /** Deep-page cursors of the scale tenants (created_on in ms, client id). */
  deep: { tenant2: { createdOn: number; clientId: string }; tenant3: { createdOn: number; clientId: string } };
};

const API = "/api/2.0";
const LIMITER_OFF = { "x-bench-limiter": "off" };
const JSON_TYPE = { "content-type": "application/json" };

const CREATE_BODY = JSON.stringify({
  name: "Benchmark client",
  description: "Created by npm run bench",
  website_url: "https://app.example.com",
  redirect_uris: ["https://app.example.com/oauth/callback"],
  allowed_origins: ["https://app.example.com"],
  scopes: ["files:read", "rooms:read"],
  allow_pkce: true,
});

const UPDATE_BODY = JSON.stringify({
  name: "Benchmark client (renamed)",
  description: "Updated by npm run bench",
  allowed_origins: ["https://app.example.com", "https://admin.example.com"],
  allow_pkce: false,
});

function cursorQuery(cursor: { createdOn: number; clientId: string }): string {
  return `last_created_on=${encodeURIComponent(new Date(cursor.createdOn).toISOString())}&last_client_id=${cursor.clientId}`;
}

/** Every scenario, in run order: each floor right before its endpoint, so a pair sees the same machine state. */
export function buildScenarios(inputs: ScenarioInputs): Scenario[] {
  const t1 = { "x-signature": inputs.signatures.tenant1, ...LIMITER_OFF };
  const floorUser = `tenant=1&user=${BENCH_USERS.tenant1}`;
  const statusBody = JSON.stringify({
    client_id: BENCH_CLIENTS.read,
    user_id: BENCH_USERS.tenant1,
    issued_at: Math.floor(Date.now() / 1000),
  });
  const scenarios: Scenario[] = [
    { id: "noop", label: "no-op baseline", kind: "baseline", request: { method: "GET", path: "/__bench/noop" } },
  ];

  const pairs: { id: string; label: string; endpoint: RequestShape; floor: RequestShape; optional?: boolean }[] = [
    {
      id: "get-client",
      label: "GET /clients/{id}",
      optional: true,
      endpoint: { method: "GET", path: `${API}/clients/${BENCH_CLIENTS.read}`, headers: t1 },
      floor: { method: "GET", path: `/__bench/floor/client?id=${BENCH_CLIENTS.read}` },
    },
    {
      id: "list-clients",
      label: "GET /clients (page of 30)",
      optional: true,
      endpoint: { method: "GET", path: `${API}/clients`, headers: t1 },
      floor: { method: "GET", path: "/__bench/floor/clients?tenant=1" },
    },
    {
      id: "public-info",
      label: "GET /clients/{id}/public/info",
      optional: true,
      endpoint: { method: "GET", path: `${API}/clients/${BENCH_CLIENTS.read}/public/info`, headers: LIMITER_OFF },
      floor: { method: "GET", path: `/__bench/floor/public-info?id=${BENCH_CLIENTS.read}` },
    },
    {
      id: "token-status",
      label: "POST /oauth2/tokens/status",
      optional: true,
      endpoint: {
        method: "POST",
        path: `${API}/oauth2/tokens/status`,
        headers: { authorization: `Bearer ${inputs.serviceToken}`, ...JSON_TYPE, ...LIMITER_OFF },
        body: statusBody,
      },
      floor: {
        method: "POST",
        path: `/__bench/floor/token-status?id=${BENCH_CLIENTS.read}&user=${BENCH_USERS.tenant1}`,
        headers: JSON_TYPE,
        body: statusBody,
      },
    },
    {
      id: "create-client",
      label: "POST /clients",
      endpoint: { method: "POST", path: `${API}/clients`, headers: { ...t1, ...JSON_TYPE }, body: CREATE_BODY },
      floor: { method: "POST", path: `/__bench/floor/create?${floorUser}`, headers: JSON_TYPE, body: CREATE_BODY },
    },
    {
      id: "update-client",
      label: "PUT /clients/{id}",
      endpoint: {
        method: "PUT",
        path: `${API}/clients/${BENCH_CLIENTS.update}`,
        headers: { ...t1, ...JSON_TYPE },
        body: UPDATE_BODY,
      },
      floor: {
        method: "PUT",
        path: `/__bench/floor/update?id=${BENCH_CLIENTS.update}&${floorUser}`,
        headers: JSON_TYPE,
        body: UPDATE_BODY,
      },
    },
    {
      id: "regenerate-secret",
      label: "PATCH /clients/{id}/regenerate",
      endpoint: {
        method: "PATCH",
        path: `${API}/clients/${BENCH_CLIENTS.regenerate}/regenerate`,
        pathPool: BENCH_REGENERATE_POOL.map((id) => `${API}/clients/${id}/regenerate`),
        headers: t1,
      },
      floor: {
        method: "PATCH",
        path: `/__bench/floor/regenerate?id=${BENCH_CLIENTS.regenerate}&${floorUser}`,
        pathPool: BENCH_REGENERATE_POOL.map((id) => `/__bench/floor/regenerate?id=${id}&${floorUser}`),
      },
    },
    {
      id: "revoke-consent",
      label: "DELETE /clients/{id}/revoke",
      endpoint: { method: "DELETE", path: `${API}/clients/${BENCH_CLIENTS.revoke}/revoke`, headers: t1 },
      floor: { method: "DELETE", path: `/__bench/floor/revoke?id=${BENCH_CLIENTS.revoke}&${floorUser}` },
    },
  ];
  // The limiter's own cost: the same endpoint, once more, with the Durable Object hop, right after it.
  const withLimiter = (id: string, label: string, endpoint: RequestShape, optional?: boolean): Scenario => {
    const headers = { ...endpoint.headers };
    delete headers["x-bench-limiter"];
    return {
      id: `${id}+limiter`,
      label: `${label} + limiter`,
      kind: "limiter",
      request: { ...endpoint, headers },
      compareTo: id,
      optional,
    };
  };
  const LIMITED = new Set(["get-client", "update-client"]);
  for (const pair of pairs) {
    scenarios.push({ id: `${pair.id}.floor`, label: `floor of ${pair.label}`, kind: "floor", request: pair.floor });
    scenarios.push({
      id: pair.id,
      label: pair.label,
      kind: "endpoint",
      request: pair.endpoint,
      compareTo: `${pair.id}.floor`,
      optional: pair.optional,
    });
    if (LIMITED.has(pair.id)) scenarios.push(withLimiter(pair.id, pair.label, pair.endpoint, pair.optional));
  }

  // Scale: first and deep page with 1,000 and 100,000 clients in one tenant, and their floors.
  const scale = [
    { tenant: 2, size: "1k", signature: inputs.signatures.tenant2, deep: inputs.deep.tenant2 },
    { tenant: 3, size: "100k", signature: inputs.signatures.tenant3, deep: inputs.deep.tenant3 },
  ];
  for (const s of scale) {
    const headers = { "x-signature": s.signature, ...LIMITER_OFF };
    const deepFloor = `created_on=${s.deep.createdOn}&client_id=${s.deep.clientId}`;
    for (const page of ["first", "deep"] as const) {
      const id = `scale-${s.size}-${page}`;
      const query = page === "first" ? "" : `?${cursorQuery(s.deep)}`;
      const floorQuery = page === "first" ? "" : `&${deepFloor}`;
      scenarios.push({
        id: `${id}.floor`,
        label: `floor of ${page} page, ${s.size} clients`,
        kind: "scale-floor",
        request: { method: "GET", path: `/__bench/floor/clients?tenant=${s.tenant}${floorQuery}` },
      });
      scenarios.push({
        id,
        label: `GET /clients ${page} page, ${s.size} clients`,
        kind: "scale",
        request: { method: "GET", path: `${API}/clients${query}`, headers },
        compareTo: `${id}.floor`,
        optional: true,
      });
    }
  }
  return scenarios;
}
