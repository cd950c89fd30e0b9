// The soak's OAuth mix (issue 15): what a registered app and DocSpace's APIs send the authorization
// server. Each caller owns its clients and users, so it alone issues and revokes their tokens and can
// keep an exact model of which refresh families are live; every introspection is checked against it,
// during the run and once more for every family at the end.
//
// Traffic per step (SOAK_OAUTH_SHARE of all steps): mostly introspections (unauthenticated form
// POSTs, as DocSpace's .NET APIs send one per API call), then refreshes (rotation), whole flows
// (authorize → consent → token), discovery and JWKS, and revocations interleaved: RFC 7009 of refresh
// and access tokens, refresh-token reuse, and the management API's consent revocation, disable/enable
// and delete.
import { createHash, randomBytes } from "node:crypto";
import { type Caller, renewingSignature } from "./caller.ts";
import { countAnswer, type Tally } from "./tally.ts";

const REDIRECT_URI = "https://soak.example/cb";

const OAUTH_CLIENT = {
  name: "Soak OAuth app",
  description: "Made by the soak test's OAuth mix",
  redirect_uris: [REDIRECT_URI],
  allowed_origins: ["https://soak.example"],
  scopes: ["files:read", "openid"],
};

/** Why a family is dead; each is unambiguous for every token the family ever had (see `revokeConsent`). */
type RevokedBy = "rfc7009" | "reuse" | "consent_revoked" | "client_deleted";

/** A refresh family the soak started, and the model of its tokens. */
export type Family = {
  clientId: string;
  userId: string;
  /** The latest access and refresh tokens. */
  access: string;
  refresh: string;
  /** The refresh token before the latest rotation: presenting it again is reuse. */
  previousRefresh?: string;
  /** The latest access token was revoked by RFC 7009 (its family lives on). */
  accessRevoked: boolean;
  revoked?: RevokedBy;
  /** Left out of every check: its client could not be enabled again (the failure is an error already). */
  excluded?: true;
};

type OAuthClient = { id: string; basic: string; families: Family[] };
type User = { caller: Caller; signature: () => Promise<string> };

const formEncode = (value: string) => encodeURIComponent(value).replace(/%20/g, "+");
const pick = <T>(items: T[]): T | undefined => items[Math.floor(Math.random() * items.length)];

/** Every family any caller started: what the end-of-run check walks. */
export type FamilyLedger = Family[];

export type OAuthMixOptions = {
  /** The gateway's origin, e.g. `http://127.0.0.1:8192`: the issuer's and the users' `tenant_url`. */
  origin: string;
  key: Uint8Array<ArrayBuffer>;
  tally: Tally;
  ledger: FamilyLedger;
  index: number;
};

/**
 * One caller of the OAuth mix: an admin who registers a few apps, and three users who authorize
 * them. `step()` sends one operation (a flow or a disable/enable round is several requests).
 */
export function oauthCaller({ origin, key, tally, ledger, index }: OAuthMixOptions) {
  const owner: Caller = { userId: crypto.randomUUID(), tenantId: 5000 + index, role: "ADMIN" };
  const ownerSignature = renewingSignature(key, owner, origin);
  const users: User[] = Array.from({ length: 3 }, () => {
    const caller: Caller = { userId: crypto.randomUUID(), tenantId: 5000 + index, role: "USER" };
    return { caller, signature: renewingSignature(key, caller, origin) };
  });
  const clients: OAuthClient[] = [];
  /** Every family this caller started, live or not. */
  const families: Family[] = [];
  /** (client, user) → when the answer to the last consent revocation arrived (ms). */
  const consentRevokedAt = new Map<string, number>();

  /** Sends and counts; an answer outside `expected` (but a 429) is an error, and undefined is returned. */
  async function call(
    operation: string,
    url: string,
    init: RequestInit,
    expected: number[],
  ): Promise<Response | undefined> {
    const sent = performance.now();
    const response = await fetch(`${origin}${url}`, { redirect: "manual", ...init });
    countAnswer(tally, operation, response.status, performance.now() - sent);
    if (expected.includes(response.status)) return response;
    if (response.status !== 429) {
      const body = (await response.text()).slice(0, 200);
      tally.errors.push(`${operation} ${init.method ?? "GET"} ${url.slice(0, 80)} → ${response.status} ${body}`);
    } else {
      await response.arrayBuffer();
    }
    return undefined;
  }

  const manage = async (operation: string, method: string, url: string, body?: unknown, signer = ownerSignature) =>
    call(
      operation,
      `/api/2.0${url}`,
      {
        method,
        headers: { "x-signature": await signer(), ...(body ? { "content-type": "application/json" } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      },
      [200, 201],
    );

  const form = (operation: string, url: string, fields: Record<string, string>, expected: number[], basic?: string) =>
    call(
      operation,
      url,
      {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          ...(basic ? { authorization: basic } : {}),
        },
        body: new URLSearchParams(fields).toString(),
      },
      expected,
    );

  /** Introspects `token` as DocSpace does (no client credentials) and checks the answer against the model. */
  async function introspect(operation: string, token: string, hint: string, expectActive: boolean) {
    const response = await form(operation, "/oauth2/introspect", { token, token_type_hint: hint }, [200]);
    if (!response) return;
    const { active } = (await response.json()) as { active: boolean };
    if (active !== expectActive) {
      tally.errors.push(`${operation}: expected active=${expectActive}, got ${active}`);
    }
  }

  async function createClient() {
    const response = await manage("oauth:create-client", "POST", "/clients", OAUTH_CLIENT);
    if (!response) return;
    const { client_id: id, client_secret: secret } = (await response.json()) as {
      client_id: string;
      client_secret: string;
    };
    clients.push({ id, basic: `Basic ${btoa(`${formEncode(id)}:${formEncode(secret)}`)}`, families: [] });
  }

  /**
   * Consent revocation writes `revoked:consent:{client}:{user}` with `revoked_before` = the request's
   * second, inclusive (docs/token-lifecycle.md, L.3): an access token minted in that same second would
   * be covered too. So a new flow for the pair waits until the clock has passed the second in which the
   * revocation's answer arrived; every token issued before the revocation is then unambiguously dead
   * and every token issued after it unambiguously live.
   */
  async function waitPastConsentRevocation(client: OAuthClient, user: User) {
    const revokedAt = consentRevokedAt.get(`${client.id}:${user.caller.userId}`);
    if (revokedAt === undefined) return;
    const nextSecond = (Math.floor(revokedAt / 1000) + 1) * 1000;
    if (Date.now() < nextSecond) await new Promise((r) => setTimeout(r, nextSecond - Date.now() + 5));
  }

  /** authorize → consent (the page's form, or DocSpace's multipart post) → token. */
  async function flow(client: OAuthClient, user: User) {
    await waitPastConsentRevocation(client, user);
    const verifier = randomBytes(32).toString("base64url");
    const challenge = createHash("sha256").update(verifier).digest("base64url");
    const scope = Math.random() < 0.5 ? "openid files:read" : "files:read";
    const state = randomBytes(8).toString("hex");
    const query = new URLSearchParams({
      response_type: "code",
      client_id: client.id,
      redirect_uri: REDIRECT_URI,
      scope,
      state,
      nonce: "soak",
      code_challenge: challenge,
      code_challenge_method: "S256",
    });
    const signature = await user.signature();
    const start = await call(
      "oauth:authorize",
      `/oauth2/authorize?${query}`,
      { headers: { cookie: `x-signature=${signature}` } },
      [200, 302],
    );
    if (!start) return;

    let back: string | null;
    if (start.status === 302) {
      // A stored consent covers the scopes: a code at once.
      back = start.headers.get("location");
    } else {
      const html = await start.text();
      const requestId = /name="request_id" value="([^"]+)"/.exec(html)?.[1];
      const csrfToken = /name="csrf_token" value="([^"]+)"/.exec(html)?.[1];
      if (!requestId || !csrfToken) {
        tally.errors.push(`oauth:authorize: no consent form in ${html.slice(0, 200)}`);
        return;
      }
      if (Math.random() < 0.7) {
        const decided = await call(
          "oauth:consent-form",
          "/oauth2/authorize",
          {
            method: "POST",
            headers: {
              "content-type": "application/x-www-form-urlencoded",
              origin,
              "sec-fetch-site": "same-origin",
              cookie: `x-signature=${signature}`,
            },
            body: new URLSearchParams({ request_id: requestId, csrf_token: csrfToken, decision: "allow" }).toString(),
          },
          [302],
        );
        back = decided?.headers.get("location") ?? null;
      } else {
        const body = new FormData();
        body.append("client_id", client.id);
        body.append("state", requestId);
        for (const granted of scope.split(" ")) body.append("scope", granted);
        const decided = await call(
          "oauth:consent-docspace",
          "/oauth2/authorize",
          { method: "POST", headers: { "x-signature": signature, "x-disable-redirect": "true" }, body },
          [200],
        );
        back = decided?.headers.get("x-redirect-uri") ?? null;
      }
    }
    if (back === null) return;
    const params = new URL(back).searchParams;
    const code = params.get("code");
    if (!code || params.get("state") !== state) {
      tally.errors.push(`oauth:authorize: no code for state ${state} in ${back.slice(0, 200)}`);
      return;
    }

    const redeemed = await form(
      "oauth:redeem",
      "/oauth2/token",
      { grant_type: "authorization_code", code, redirect_uri: REDIRECT_URI, code_verifier: verifier },
      [200],
      client.basic,
    );
    if (!redeemed) return;
    const tokens = (await redeemed.json()) as { access_token: string; refresh_token: string };
    const family: Family = {
      clientId: client.id,
      userId: user.caller.userId,
      access: tokens.access_token,
      refresh: tokens.refresh_token,
      accessRevoked: false,
    };
    client.families.push(family);
    families.push(family);
    ledger.push(family);
  }

  const liveFamilies = () => clients.flatMap((c) => c.families.filter((f) => !f.revoked));
  const clientOf = (family: Family) => clients.find((c) => c.id === family.clientId);
  /** A live family most of the time, any family now and then (both must answer as the model says). */
  const someFamily = (live: Family[]) =>
    (Math.random() < 0.85 ? pick(live) : pick(families.filter((f) => !f.excluded))) ?? pick(live);

  async function refresh(family: Family) {
    const client = clientOf(family);
    if (!client || family.revoked) return;
    const response = await form(
      "oauth:refresh",
      "/oauth2/token",
      { grant_type: "refresh_token", refresh_token: family.refresh },
      [200],
      client.basic,
    );
    if (!response) return;
    const tokens = (await response.json()) as { access_token: string; refresh_token: string };
    family.previousRefresh = family.refresh;
    family.access = tokens.access_token;
    family.refresh = tokens.refresh_token;
    family.accessRevoked = false;
  }

  /** RFC 7009 of the refresh token: the whole family. */
  async function revokeRefresh(family: Family) {
    const client = clientOf(family);
    if (!client) return;
    const done = await form(
      "oauth:revoke-refresh",
      "/oauth2/revoke",
      { token: family.refresh, token_type_hint: "refresh_token" },
      [200],
      client.basic,
    );
    if (done) family.revoked = "rfc7009";
  }

  /** RFC 7009 of the latest access token: that token only. */
  async function revokeAccess(family: Family) {
    const client = clientOf(family);
    if (!client) return;
    const done = await form(
      "oauth:revoke-access",
      "/oauth2/revoke",
      { token: family.access, token_type_hint: "access_token" },
      [200],
      client.basic,
    );
    if (done) family.accessRevoked = true;
  }

  /** Presenting the rotated-out refresh token: `invalid_grant`, and the family is revoked. */
  async function replay(family: Family) {
    const client = clientOf(family);
    if (!client || !family.previousRefresh) return;
    const response = await form(
      "oauth:reuse",
      "/oauth2/token",
      { grant_type: "refresh_token", refresh_token: family.previousRefresh },
      [400],
      client.basic,
    );
    if (response) {
      const { error } = (await response.json()) as { error?: string };
      if (error !== "invalid_grant") tally.errors.push(`oauth:reuse: expected invalid_grant, got ${error}`);
      family.revoked = "reuse";
    }
  }

  /**
   * The user's `revokeUserClient`: the consent and every family of (client, user). All of them were
   * issued by this caller before the revocation was sent, so all are dead, whatever the second.
   */
  async function revokeConsent(family: Family) {
    const client = clientOf(family);
    const user = users.find((u) => u.caller.userId === family.userId);
    if (!client || !user) return;
    const done = await manage(
      "oauth:revoke-consent",
      "DELETE",
      `/clients/${client.id}/revoke`,
      undefined,
      user.signature,
    );
    if (!done) return;
    await done.arrayBuffer();
    consentRevokedAt.set(`${client.id}:${user.caller.userId}`, Date.now());
    for (const f of client.families) if (f.userId === family.userId && !f.revoked) f.revoked = "consent_revoked";
  }

  /**
   * Disable, check that the family's tokens are inactive, enable, check that they are back. The
   * disabled entry is a presence entry, deleted on enable: nothing about it depends on the second.
   */
  async function disableAndEnable(family: Family) {
    const client = clientOf(family);
    if (!client || family.revoked) return;
    const off = await manage("oauth:disable", "PATCH", `/clients/${client.id}/activation`, { status: false });
    if (!off) return;
    await off.arrayBuffer();
    await introspect("oauth:introspect-access-disabled", family.access, "access_token", false);
    await introspect("oauth:introspect-refresh-disabled", family.refresh, "refresh_token", false);
    const on = await manage("oauth:enable", "PATCH", `/clients/${client.id}/activation`, { status: true });
    if (!on) {
      // The client stays disabled: its families can no longer be judged by the model.
      tally.errors.push(`oauth:enable failed for ${client.id}; its families are left out`);
      clients.splice(clients.indexOf(client), 1);
      for (const f of client.families) f.excluded = true;
      return;
    }
    await on.arrayBuffer();
    await introspect("oauth:introspect-access", family.access, "access_token", !family.accessRevoked);
  }

  async function deleteClient(client: OAuthClient) {
    const done = await manage("oauth:delete-client", "DELETE", `/clients/${client.id}`);
    if (!done) return;
    await done.arrayBuffer();
    for (const f of client.families) if (!f.revoked) f.revoked = "client_deleted";
    clients.splice(clients.indexOf(client), 1);
  }

  return {
    async step(): Promise<void> {
      if (clients.length < 2) return createClient();
      const live = liveFamilies();
      const roll = Math.random();
      if (live.length < 3 || (roll >= 0.8 && roll < 0.87)) {
        return flow(pick(clients) as OAuthClient, pick(users) as User);
      }
      const family = someFamily(live) as Family;
      if (roll < 0.66) {
        return introspect(
          "oauth:introspect-access",
          family.access,
          "access_token",
          !family.revoked && !family.accessRevoked,
        );
      }
      if (roll < 0.73) {
        return introspect("oauth:introspect-refresh", family.refresh, "refresh_token", !family.revoked);
      }
      const target = pick(live) as Family;
      if (roll < 0.8) return refresh(target);
      // 0.80–0.87: a flow (above).
      if (roll < 0.9) {
        const [op, url] =
          Math.random() < 0.5
            ? ["oauth:metadata", "/oauth2/.well-known/openid-configuration"]
            : ["oauth:jwks", "/oauth2/jwks"];
        await (await call(op, url, {}, [200]))?.arrayBuffer();
        return;
      }
      // Revocations, rarer than flows so that families live long enough to be refreshed and judged.
      if (roll < 0.92) return revokeRefresh(target);
      if (roll < 0.94) return revokeAccess(target);
      if (roll < 0.95) return replay(target);
      if (roll < 0.965) return revokeConsent(target);
      if (roll < 0.995) return disableAndEnable(target);
      return deleteClient(clientOf(target) as OAuthClient);
    },
  };
}

/**
 * The end-of-run check: every live family's latest access and refresh tokens introspect active
 * (the access token inactive if RFC 7009 revoked it), every revoked family's inactive. Run after
 * every caller has stopped, so nothing changes underneath it.
 */
export async function checkFamilies(origin: string, ledger: FamilyLedger, parallel = 8) {
  const result = {
    families: ledger.length,
    live: 0,
    revoked: {} as Record<string, number>,
    answers_as_expected: 0,
    wrong_answers: [] as string[],
  };
  const check = async (family: Family, token: string, hint: string, expected: boolean) => {
    const response = await fetch(`${origin}/oauth2/introspect`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token, token_type_hint: hint }).toString(),
    });
    const active = response.status === 200 ? ((await response.json()) as { active: boolean }).active : undefined;
    if (active === expected) result.answers_as_expected += 1;
    else {
      result.wrong_answers.push(
        `${hint} of family (${family.clientId}, ${family.userId}, ${family.revoked ?? "live"}): expected ${expected}, got ${active ?? response.status}`,
      );
    }
  };
  const queue = [...ledger];
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      for (let family = queue.pop(); family; family = queue.pop()) {
        if (family.excluded) continue;
        if (family.revoked) result.revoked[family.revoked] = (result.revoked[family.revoked] ?? 0) + 1;
        else result.live += 1;
        await check(family, family.access, "access_token", !family.revoked && !family.accessRevoked);
        await check(family, family.refresh, "refresh_token", !family.revoked);
      }
    }),
  );
  return result;
}
