/**
 * The benchmark's scenarios: the no-op ceiling, each endpoint beside its storage floor, the same
 * endpoints with the rate limiter on, and the scale pages. Endpoint scenarios send
 * `x-bench-limiter: off` (see bench/bench-worker.ts) so they measure the path, not the limiter.
 */
import { BodyPool, type RequestShape } from "./load.ts";
import { BENCH_CLIENTS, BENCH_OAUTH, BENCH_REGENERATE_POOL, BENCH_USERS, type OAuthSeed } from "./seed.ts";

export type ScenarioKind = "baseline" | "endpoint" | "floor" | "limiter" | "scale" | "scale-floor";

export type Scenario = {
  id: string;
  label: string;
  kind: ScenarioKind;
  request: RequestShape;
  /** Endpoint → its storage floor; limiter → the same endpoint without the limiter. */
  compareTo?: string;
  /** A multi-request flow (authorize → consent → token) measured as flows per second instead of `request`. */
  flow?: "endpoint" | "floor";
  /** Routes that may not exist yet are probed first and skipped when they answer 404/405. */
  optional?: boolean;
};

export type ScenarioInputs = {
  signatures: { tenant1: string; tenant2: string; tenant3: string };
  serviceToken: string;
  /** Deep-page cursors of the scale tenants (created_on in ms, client id). */
  deep: { tenant2: { createdOn: number; clientId: string }; tenant3: { createdOn: number; clientId: string } };
  /** The authorization server's scenarios (issue 15); left out, they are not built. */
  oauth?: OAuthInputs;
};

/** What the OAuth scenarios present: seeded pools, and tokens bench/run.ts obtained from the gateway itself. */
export type OAuthInputs = {
  seed: OAuthSeed;
  /** An x-signature of tenant 1's admin whose `tenant_url` is the bench origin (AS §2), for the PAT grant. */
  originSignature: string;
  /** An active access token, with the claims its floor reads KV for. */
  accessToken: { token: string; jti: string; sid: string };
  /** An access token revoked through POST /oauth2/revoke (RFC 7009): its `jti` entry is in KV. */
  revokedAccessToken: { token: string; jti: string; sid: string };
  /** A live refresh token that introspection looks up (never rotated by the run). */
  refreshToken: string;
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

const FORM_TYPE = { "content-type": "application/x-www-form-urlencoded" };
/** The flow scenarios' availability probe: the discovery document (the flow itself is driven by bench/flows.ts). */
const FLOW_PROBE: RequestShape = { method: "GET", path: "/oauth2/.well-known/openid-configuration" };

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

/**
 * The authorization server's pairs (issue 15): metadata and JWKS beside a floor that touches no
 * storage (warm, both are answered from the isolate's memory); introspection, the three grants and
 * the consent page beside the storage calls they make. Redemption and rotation take a fresh code or
 * refresh token from a seeded pool per request (bench/seed.ts).
 */
function oauthPairs(oauth: OAuthInputs): {
  id: string;
  label: string;
  endpoint: RequestShape;
  floor: RequestShape;
  optional?: boolean;
}[] {
  const { clientId, secret, redirectUri, verifier } = BENCH_OAUTH;
  const floorClient = `id=${clientId}&tenant=1&user=${BENCH_USERS.tenant1}`;
  const credentials = { client_id: clientId, client_secret: secret };
  const introspectFloor = (t: { jti: string; sid: string }): RequestShape => ({
    method: "POST",
    path: `/__bench/floor/introspect?${floorClient}&jti=${t.jti}&sid=${t.sid}`,
    headers: FORM_TYPE,
    body: form({ token: "x" }),
  });
  const introspect = (token: string, hint?: string): RequestShape => ({
    method: "POST",
    path: "/oauth2/introspect",
    headers: { ...FORM_TYPE, ...LIMITER_OFF },
    body: form(hint ? { token, token_type_hint: hint } : { token }),
  });
  const authorizeQuery = form({
    response_type: "code",
    client_id: clientId,
    redirect_uri: redirectUri,
    scope: "files:read rooms:read",
    state: "bench-state",
    code_challenge: BENCH_OAUTH.challenge,
    code_challenge_method: "S256",
  });
  return [
    {
      id: "metadata",
      label: "GET /.well-known/openid-configuration",
      optional: true,
      endpoint: { method: "GET", path: "/oauth2/.well-known/openid-configuration", headers: LIMITER_OFF },
      floor: { method: "GET", path: "/__bench/floor/static" },
    },
    {
      id: "jwks",
      label: "GET /oauth2/jwks",
      optional: true,
      endpoint: { method: "GET", path: "/oauth2/jwks", headers: LIMITER_OFF },
      floor: { method: "GET", path: "/__bench/floor/static" },
    },
    {
      id: "introspect-access",
      label: "POST /oauth2/introspect (access token, active)",
      optional: true,
      endpoint: introspect(oauth.accessToken.token),
      floor: introspectFloor(oauth.accessToken),
    },
    {
      id: "introspect-revoked",
      label: "POST /oauth2/introspect (access token, revoked)",
      optional: true,
      endpoint: introspect(oauth.revokedAccessToken.token),
      floor: introspectFloor(oauth.revokedAccessToken),
    },
    {
      id: "introspect-refresh",
      label: "POST /oauth2/introspect (refresh token)",
      optional: true,
      endpoint: introspect(oauth.refreshToken, "refresh_token"),
      floor: {
        method: "POST",
        path: `/__bench/floor/introspect-refresh?${floorClient}`,
        headers: FORM_TYPE,
        body: form({ token: oauth.seed.floorRefreshHashes[0]?.token ?? "" }),
      },
    },
    {
      id: "token-code",
      label: "POST /oauth2/token (code redemption)",
      endpoint: {
        method: "POST",
        path: "/oauth2/token",
        headers: { ...FORM_TYPE, ...LIMITER_OFF },
        bodyPool: new BodyPool(
          oauth.seed.codes.map((code) =>
            form({
              grant_type: "authorization_code",
              code,
              redirect_uri: redirectUri,
              code_verifier: verifier,
              ...credentials,
            }),
          ),
        ),
      },
      floor: {
        method: "POST",
        path: `/__bench/floor/redeem?${floorClient}`,
        headers: FORM_TYPE,
        bodyPool: new BodyPool(oauth.seed.floorCodeHashes.map((code) => form({ code }))),
      },
    },
    {
      id: "token-refresh",
      label: "POST /oauth2/token (refresh rotation)",
      endpoint: {
        method: "POST",
        path: "/oauth2/token",
        headers: { ...FORM_TYPE, ...LIMITER_OFF },
        bodyPool: new BodyPool(
          oauth.seed.refreshTokens.map(({ token, clientId: client }) =>
            form({ grant_type: "refresh_token", refresh_token: token, client_id: client, client_secret: secret }),
          ),
        ),
      },
      floor: {
        method: "POST",
        path: `/__bench/floor/refresh?tenant=2&user=${BENCH_USERS.tenant2}`,
        headers: FORM_TYPE,
        // The first floor hash is the refresh-introspection floor's, which must stay live.
        bodyPool: new BodyPool(
          oauth.seed.floorRefreshHashes
            .slice(1)
            .map(({ token, clientId: client }) => form({ refresh_token: token, client_id: client })),
        ),
      },
    },
    {
      id: "token-pat",
      label: "POST /oauth2/token (personal access token)",
      endpoint: {
        method: "POST",
        path: "/oauth2/token",
        headers: { ...FORM_TYPE, "x-signature": oauth.originSignature, ...LIMITER_OFF },
        body: form({ grant_type: "personal_access_token", scope: "files:read", ...credentials }),
      },
      floor: {
        method: "POST",
        path: `/__bench/floor/pat?${floorClient}`,
        headers: FORM_TYPE,
        body: form({ grant_type: "personal_access_token", scope: "files:read", ...credentials }),
      },
    },
    {
      id: "consent-page",
      label: "GET /oauth2/authorize (consent page)",
      optional: true,
      // Tenant 1's admin consented to `files:read rooms:read` of every client but this scenario's own, so it asks.
      endpoint: {
        method: "GET",
        path: `/oauth2/authorize?${authorizeQuery.replace(`client_id=${clientId}`, `client_id=${BENCH_CLIENTS.consentPage}`)}`,
        headers: { cookie: `x-signature=${oauth.originSignature}`, ...LIMITER_OFF },
      },
      floor: {
        method: "GET",
        path: `/__bench/floor/consent-page?id=${BENCH_CLIENTS.consentPage}&tenant=1&user=${BENCH_USERS.tenant1}`,
      },
    },
  ];
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
  if (inputs.oauth) pairs.push(...oauthPairs(inputs.oauth));
  const LIMITED = new Set(["get-client", "update-client", "token-pat", "introspect-access"]);
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

  if (inputs.oauth) {
    scenarios.push(
      {
        id: "flow.floor",
        label: "floor of the whole flow (flows/s)",
        kind: "floor",
        request: FLOW_PROBE,
        flow: "floor",
      },
      {
        id: "flow",
        label: "authorize → consent → token (flows/s)",
        kind: "endpoint",
        request: FLOW_PROBE,
        flow: "endpoint",
        compareTo: "flow.floor",
      },
    );
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
