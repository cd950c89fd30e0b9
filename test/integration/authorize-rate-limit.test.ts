import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import { appFetcher } from "../helpers/app";
import {
  authorize,
  authorizeParams,
  consentFields,
  ISSUER,
  newAuthorizeClient,
  postDecision,
  redirectTarget,
} from "../helpers/authorize";
import { unreachableDurableObjects } from "../helpers/faults";
import { newCaller } from "../helpers/signature";

// /oauth2/authorize under the limiter (AS §9): the `authorize` bucket of the signed-in user, else of
// the IP; over quota a request the client can be told about is redirected with
// `temporarily_unavailable` (state, iss), an untrusted one still gets its page, a decision gets a
// 429 page and consumes nothing; the limiter unreachable refuses (fail closed: authorize writes).

const limited = (limit: number) => appFetcher({ env: { RATE_LIMIT_GET: String(limit) } as Partial<Env> });
const uniqueIp = () => `198.51.100.${Math.floor(Math.random() * 250) + 1}-${crypto.randomUUID().slice(0, 4)}`;

async function pendingCount(clientId: string) {
  const row = await env.DB.prepare("SELECT COUNT(*) AS n FROM authorization_requests WHERE client_id = ?")
    .bind(clientId)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

describe("the authorize bucket", () => {
  it("every answer carries the RateLimit headers of the authorize policy", async ({ expect }) => {
    const fetcher = limited(50);
    const { client } = await newAuthorizeClient();
    const caller = newCaller("USER");
    for (const query of [
      authorizeParams(client.client_id),
      authorizeParams(client.client_id, { scope: "openid" }),
      authorizeParams(crypto.randomUUID()),
    ]) {
      const response = await authorize(query, { caller, fetcher });
      expect(response.headers.get("ratelimit-policy")).toBe('"authorize";q=50;w=60');
      expect(response.headers.get("ratelimit")).toMatch(/^"authorize";r=\d+;t=\d+$/);
    }
  });

  it("a signed-in user over quota: temporarily_unavailable with state and iss, nothing stored; another user is not affected", async ({
    expect,
  }) => {
    const fetcher = limited(2);
    const { client } = await newAuthorizeClient();
    const caller = newCaller("USER");
    for (let i = 0; i < 2; i++) {
      expect((await authorize(authorizeParams(client.client_id), { caller, fetcher })).status).toBe(200);
    }
    const refused = await authorize(authorizeParams(client.client_id), { caller, fetcher });
    expect(refused.status).toBe(302);
    const { base, params } = redirectTarget(refused.headers.get("location"));
    expect(base).toBe("https://app.example/cb");
    expect(params.get("error")).toBe("temporarily_unavailable");
    expect(params.get("state")).toBe("st-123");
    expect(params.get("iss")).toBe(ISSUER);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await pendingCount(client.client_id)).toBe(2);

    const other = newCaller("USER", caller.tenantId);
    expect((await authorize(authorizeParams(client.client_id), { caller: other, fetcher })).status).toBe(200);
  });

  it("signed out, the IP is charged; an untrusted request over quota still gets its page, never a redirect", async ({
    expect,
  }) => {
    const fetcher = limited(1);
    const { client } = await newAuthorizeClient();
    const ip = uniqueIp();
    const first = await authorize(authorizeParams(client.client_id), { fetcher, headers: { "cf-connecting-ip": ip } });
    expect(new URL(first.headers.get("location") ?? "").pathname).toBe("/login");
    const second = await authorize(authorizeParams(client.client_id), { fetcher, headers: { "cf-connecting-ip": ip } });
    expect(redirectTarget(second.headers.get("location")).params.get("error")).toBe("temporarily_unavailable");
    const untrusted = await authorize(authorizeParams(crypto.randomUUID()), {
      fetcher,
      headers: { "cf-connecting-ip": ip },
    });
    expect(untrusted.status).toBe(400);
    expect(untrusted.headers.get("location")).toBeNull();
    // Another IP has its own bucket.
    const elsewhere = await authorize(authorizeParams(client.client_id), {
      fetcher,
      headers: { "cf-connecting-ip": uniqueIp() },
    });
    expect(new URL(elsewhere.headers.get("location") ?? "").pathname).toBe("/login");
  });

  it("a decision over quota is a 429 page and consumes nothing: the user decides once under quota again", async ({
    expect,
  }) => {
    const fetcher = limited(1);
    const { client } = await newAuthorizeClient();
    const caller = newCaller("USER");
    const page = await authorize(authorizeParams(client.client_id), { caller, fetcher });
    const fields = consentFields(await page.text());
    const form = { request_id: fields.requestId, csrf_token: fields.csrfToken, decision: "allow" };
    const refused = await postDecision(form, { caller, fetcher });
    expect(refused.status).toBe(429);
    expect(refused.headers.get("content-type")).toMatch(/^text\/html/);
    expect(refused.headers.get("retry-after")).toBeTruthy();
    const allowed = await postDecision(form, { caller });
    expect(allowed.status).toBe(302);
    expect(redirectTarget(allowed.headers.get("location")).params.get("code")).toBeTruthy();
  });

  it("the limiter unreachable: refused (fail closed), told as temporarily_unavailable", async ({ expect }) => {
    const offline = unreachableDurableObjects(env.RATE_LIMITER as unknown as DurableObjectNamespace);
    const fetcher = appFetcher({ env: { RATE_LIMITER: offline as unknown as Env["RATE_LIMITER"] } });
    const { client } = await newAuthorizeClient();
    const caller = newCaller("USER");
    const { vi } = await import("vitest");
    const quiet = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const response = await authorize(authorizeParams(client.client_id), { caller, fetcher });
    quiet.mockRestore();
    expect(redirectTarget(response.headers.get("location")).params.get("error")).toBe("temporarily_unavailable");
    expect(await pendingCount(client.client_id)).toBe(0);
  });
});
