import { env } from "cloudflare:workers";
import * as oauth from "oauth4webapi";
import { describe, it, vi } from "vitest";
import { call } from "../helpers/api";
import { appFetcher } from "../helpers/app";
import {
  AUTHORIZE,
  authorize,
  authorizeParams,
  consentFields,
  cookieValue,
  ISSUER,
  newAuthorizeClient,
  ORIGIN,
  postDecision,
  postDocSpaceDecision,
  redirectTarget,
  setCookies,
  signatureAt,
} from "../helpers/authorize";
import { type Caller, newCaller } from "../helpers/signature";

// The consent step (AS §4 steps 5–8): the consent page's form (CSRF token, same origin, same user,
// single use), consent recorded in the consents table (listed by GET /clients/consents, removed by
// revokeUserClient) and reused, widening asks again, deny, and DocSpace's consent UI (CONSENT_UI=
// docspace, multipart post answered with X-Redirect-URI, subset grants, no scope = denial).

const AS: oauth.AuthorizationServer = { issuer: ISSUER, authorization_response_iss_parameter_supported: true };

/** GET authorize as `caller` for `scope`, expecting the consent page; its hidden fields. */
async function consentPageFor(clientId: string, caller: Caller, scope = "files:read files:write") {
  const response = await authorize(authorizeParams(clientId, { scope }), { caller });
  if (response.status !== 200)
    throw new Error(`expected the consent page, got ${response.status} ${response.headers.get("location")}`);
  return { response, ...consentFields(await response.text()) };
}

const allow = (fields: { requestId: string; csrfToken: string }) => ({
  request_id: fields.requestId,
  csrf_token: fields.csrfToken,
  decision: "allow",
});

async function consentsOf(caller: Caller) {
  const response = await call("GET", "/clients/consents?limit=50", { caller });
  if (response.status !== 200) throw new Error(`consents: ${response.status} ${await response.text()}`);
  const body = (await response.json()) as { data: { registered_client_id: string; scopes: string }[] };
  return body.data;
}

async function codesOf(clientId: string) {
  const { results } = await env.DB.prepare("SELECT * FROM authorization_codes WHERE client_id = ? ORDER BY created_on")
    .bind(clientId)
    .all<Record<string, unknown>>();
  return results;
}

describe("allow and deny on the consent page", () => {
  it("allow: 302 with code, state and iss (oauth4webapi accepts it); the consent is listed; the code carries the scopes", async ({
    expect,
  }) => {
    const { client } = await newAuthorizeClient();
    const caller = newCaller("USER");
    const page = await consentPageFor(client.client_id, caller);
    expect(setCookies(page.response).has("client_state")).toBe(true);
    expect(cookieValue(setCookies(page.response).get("client_state"))).toBe(page.requestId);
    expect(await consentsOf(caller)).toEqual([]);

    const response = await postDecision(allow(page), { caller });
    expect(response.status).toBe(302);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const { url, base } = redirectTarget(response.headers.get("location"));
    expect(base).toBe("https://app.example/cb");
    const params = oauth.validateAuthResponse(AS, { client_id: client.client_id }, url, "st-123");
    expect(params.get("code")).toMatch(/^[A-Za-z0-9_-]{43,}$/);

    const consents = await consentsOf(caller);
    expect(consents).toMatchObject([{ registered_client_id: client.client_id, scopes: "files:read files:write" }]);
    const codes = await codesOf(client.client_id);
    expect(codes).toHaveLength(1);
    expect(codes[0]).toMatchObject({
      user_id: caller.userId,
      tenant: caller.tenantId,
      scopes: '["files:read","files:write"]',
    });
  });

  it("deny: 302 with error=access_denied, state and iss; no consent, no code", async ({ expect }) => {
    const { client } = await newAuthorizeClient();
    const caller = newCaller("USER");
    const page = await consentPageFor(client.client_id, caller);
    const response = await postDecision({ ...allow(page), decision: "deny" }, { caller });
    expect(response.status).toBe(302);
    const { url, params } = redirectTarget(response.headers.get("location"));
    expect(params.get("error")).toBe("access_denied");
    expect(params.get("state")).toBe("st-123");
    expect(params.get("iss")).toBe(ISSUER);
    expect(() => oauth.validateAuthResponse(AS, { client_id: client.client_id }, url, "st-123")).toThrow(
      oauth.AuthorizationResponseError,
    );
    expect(await consentsOf(caller)).toEqual([]);
    expect(await codesOf(client.client_id)).toEqual([]);
  });

  it("a stored consent is reused for the same or fewer scopes; a new scope asks again and the consent grows", async ({
    expect,
  }) => {
    const { client } = await newAuthorizeClient();
    const caller = newCaller("USER");
    await postDecision(allow(await consentPageFor(client.client_id, caller, "files:read")), { caller });

    const again = await authorize(authorizeParams(client.client_id, { scope: "files:read" }), { caller });
    expect(again.status).toBe(302);
    expect(redirectTarget(again.headers.get("location")).params.get("code")).toBeTruthy();

    const wider = await authorize(authorizeParams(client.client_id, { scope: "files:read files:write" }), { caller });
    expect(wider.status).toBe(200);
    const fields = consentFields(await wider.text());
    await postDecision(allow(fields), { caller });
    expect((await consentsOf(caller))[0]?.scopes).toBe("files:read files:write");

    // Now both, either, and openid alone go straight through; an empty scope means all three, so it asks.
    for (const scope of ["files:write", "files:read files:write", "openid"]) {
      const response = await authorize(authorizeParams(client.client_id, { scope }), { caller });
      expect(response.status, scope).toBe(302);
    }
    expect((await authorize(authorizeParams(client.client_id, { scope: "" }), { caller })).status).toBe(200);
  });

  it("revokeUserClient removes the consent, so the next request asks again", async ({ expect }) => {
    const { client } = await newAuthorizeClient();
    const caller = newCaller("USER");
    await postDecision(allow(await consentPageFor(client.client_id, caller, "files:read")), { caller });
    expect(await consentsOf(caller)).toHaveLength(1);
    expect((await call("DELETE", `/clients/${client.client_id}/revoke`, { caller })).status).toBe(200);
    expect(await consentsOf(caller)).toEqual([]);
    expect((await authorize(authorizeParams(client.client_id, { scope: "files:read" }), { caller })).status).toBe(200);
  });

  it("another user's consent is not reused", async ({ expect }) => {
    const { client } = await newAuthorizeClient();
    const first = newCaller("USER");
    await postDecision(allow(await consentPageFor(client.client_id, first, "files:read")), { caller: first });
    const second = newCaller("USER", first.tenantId);
    expect(
      (await authorize(authorizeParams(client.client_id, { scope: "files:read" }), { caller: second })).status,
    ).toBe(200);
  });

  it("a client disabled between the page and the decision: error page, no consent, no code", async ({ expect }) => {
    const { owner, client } = await newAuthorizeClient();
    const caller = newCaller("USER");
    const page = await consentPageFor(client.client_id, caller);
    await call("PATCH", `/clients/${client.client_id}/activation`, { caller: owner, body: { status: false } });
    const response = await postDecision(allow(page), { caller });
    expect(response.status).toBe(400);
    expect(response.headers.get("location")).toBeNull();
    expect(await consentsOf(caller)).toEqual([]);
    expect(await codesOf(client.client_id)).toEqual([]);
  });
});

describe("refused decisions change nothing: the rightful user can still decide", () => {
  type Attempt = {
    label: string;
    status: number;
    post: (page: { requestId: string; csrfToken: string }, caller: Caller) => Promise<Response>;
  };
  const attempts: Attempt[] = [
    {
      label: "a wrong CSRF token",
      status: 400,
      post: (p, caller) => postDecision({ ...allow(p), csrf_token: "x".repeat(43) }, { caller }),
    },
    {
      label: "no CSRF token",
      status: 400,
      post: (p, caller) => postDecision({ request_id: p.requestId, decision: "allow" }, { caller }),
    },
    {
      label: "an unknown request id",
      status: 400,
      post: (p, caller) => postDecision({ ...allow(p), request_id: "y".repeat(43) }, { caller }),
    },
    {
      label: "another user",
      status: 400,
      post: (p, caller) => postDecision(allow(p), { caller: newCaller("USER", caller.tenantId) }),
    },
    {
      label: "the same user id in another tenant",
      status: 400,
      post: (p, caller) => postDecision(allow(p), { caller: { ...caller, tenantId: caller.tenantId + 1 } }),
    },
    { label: "no signature", status: 403, post: (p) => postDecision(allow(p)) },
    {
      label: "a signature for another origin",
      status: 403,
      post: async (p, caller) => postDecision(allow(p), { signature: await signatureAt(caller, "https://other.test") }),
    },
    {
      label: "a cross-site Origin",
      status: 403,
      post: (p, caller) =>
        postDecision(allow(p), { caller, headers: { origin: "https://evil.example", "sec-fetch-site": "cross-site" } }),
    },
    {
      label: "a cross-site Origin claiming same-origin fetch metadata",
      status: 403,
      post: (p, caller) => postDecision(allow(p), { caller, headers: { origin: "https://evil.example" } }),
    },
    {
      label: "Origin: null from another site",
      status: 403,
      post: (p, caller) =>
        postDecision(allow(p), { caller, headers: { origin: "null", "sec-fetch-site": "cross-site" } }),
    },
    {
      label: "neither Origin nor Sec-Fetch-Site",
      status: 403,
      post: (p, caller) => postDecision(allow(p), { caller, headers: { origin: "", "sec-fetch-site": "" } }),
    },
    {
      label: "a decision that is neither allow nor deny",
      status: 400,
      post: (p, caller) => postDecision({ ...allow(p), decision: "maybe" }, { caller }),
    },
    {
      label: "a JSON body",
      status: 400,
      post: async (p, caller) =>
        (await import("cloudflare:workers")).exports.default.fetch(
          new Request(`${ORIGIN}/oauth2/authorize`, {
            method: "POST",
            headers: {
              "content-type": "application/json",
              origin: ORIGIN,
              cookie: `x-signature=${await signatureAt(caller)}`,
            },
            body: JSON.stringify(allow(p)),
          }),
        ),
    },
  ];

  it.for(attempts)("$label → $status, then the user allows", async (attempt, { expect }) => {
    const { client } = await newAuthorizeClient();
    const caller = newCaller("USER");
    const page = await consentPageFor(client.client_id, caller);
    const refused = await attempt.post(page, caller);
    expect(refused.status).toBe(attempt.status);
    expect(refused.headers.get("location")).toBeNull();
    expect(refused.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await codesOf(client.client_id)).toEqual([]);
    expect(await consentsOf(caller)).toEqual([]);

    const rightful = await postDecision(allow(page), { caller });
    expect(rightful.status).toBe(302);
    expect(redirectTarget(rightful.headers.get("location")).params.get("code")).toBeTruthy();
  });

  it("Origin: null with Sec-Fetch-Site: same-origin is the consent page itself (no-referrer pages send Origin: null)", async ({
    expect,
  }) => {
    const { client } = await newAuthorizeClient();
    const caller = newCaller("USER");
    const page = await consentPageFor(client.client_id, caller);
    const response = await postDecision(allow(page), {
      caller,
      headers: { origin: "null", "sec-fetch-site": "same-origin" },
    });
    expect(response.status).toBe(302);
  });

  it("a decided request cannot be decided again (allow then allow, deny then allow)", async ({ expect }) => {
    const { client } = await newAuthorizeClient();
    const caller = newCaller("USER");
    const first = await consentPageFor(client.client_id, caller);
    expect((await postDecision(allow(first), { caller })).status).toBe(302);
    const replay = await postDecision(allow(first), { caller });
    expect(replay.status).toBe(400);
    expect(await replay.text()).toContain("no longer valid");
    expect(await codesOf(client.client_id)).toHaveLength(1);

    const other = await newAuthorizeClient();
    const second = await consentPageFor(other.client.client_id, caller);
    expect((await postDecision({ ...allow(second), decision: "deny" }, { caller })).status).toBe(302);
    expect((await postDecision(allow(second), { caller })).status).toBe(400);
    expect(await codesOf(other.client.client_id)).toEqual([]);
  });

  it("an expired request (10 minutes) is refused", async ({ expect }) => {
    let now = Date.now();
    const fetcher = appFetcher({ clock: () => now });
    const { client } = await newAuthorizeClient();
    const caller = newCaller("USER");
    const response = await authorize(authorizeParams(client.client_id, { scope: "files:read" }), { caller, fetcher });
    const fields = consentFields(await response.text());
    now += 600_001;
    expect((await postDecision(allow(fields), { caller, fetcher })).status).toBe(400);
    expect(await codesOf(client.client_id)).toEqual([]);
  });
});

describe("DocSpace's consent UI (AS §4 step 8)", () => {
  const docspace = () => appFetcher({ env: { CONSENT_UI: "docspace" } as Partial<Env> });

  it("CONSENT_UI=docspace: 302 to LOGIN_URL with both cookies instead of the page", async ({ expect }) => {
    const fetcher = docspace();
    const { client } = await newAuthorizeClient();
    const caller = newCaller("USER");
    const response = await authorize(authorizeParams(client.client_id, { scope: "files:read files:write" }), {
      caller,
      fetcher,
    });
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe(`${ORIGIN}/login?type=oauth2&client_id=${client.client_id}`);
    const cookies = setCookies(response);
    expect([...cookies.keys()].sort()).toEqual(["client_state", "x-redirect-authorization-uri"]);
    for (const line of cookies.values()) {
      expect(line).toMatch(/Max-Age=600/);
      expect(line).toMatch(/HttpOnly/);
      expect(line).toMatch(/SameSite=Lax/);
      expect(line).toMatch(/Secure/);
    }
  });

  async function pendingState(fetcher: ReturnType<typeof docspace>, clientId: string, caller: Caller) {
    const response = await authorize(authorizeParams(clientId, { scope: "files:read files:write openid" }), {
      caller,
      fetcher,
    });
    return cookieValue(setCookies(response).get("client_state"));
  }

  it("a subset grant: 200 with X-Redirect-URI carrying a code for exactly the granted scopes; consent recorded", async ({
    expect,
  }) => {
    const fetcher = docspace();
    const { client } = await newAuthorizeClient();
    const caller = newCaller("USER");
    const state = await pendingState(fetcher, client.client_id, caller);
    const response = await postDocSpaceDecision(
      { client_id: client.client_id, state, scope: ["files:read", "openid"] },
      { caller, fetcher },
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("location")).toBeNull();
    const target = redirectTarget(response.headers.get("x-redirect-uri"));
    const params = oauth.validateAuthResponse(AS, { client_id: client.client_id }, target.url, "st-123");
    expect(params.get("code")).toBeTruthy();
    expect((await codesOf(client.client_id))[0]).toMatchObject({ scopes: '["files:read","openid"]' });
    expect((await consentsOf(caller))[0]?.scopes).toBe("files:read openid");
  });

  it("no scope field is a denial", async ({ expect }) => {
    const fetcher = docspace();
    const { client } = await newAuthorizeClient();
    const caller = newCaller("USER");
    const state = await pendingState(fetcher, client.client_id, caller);
    const response = await postDocSpaceDecision({ client_id: client.client_id, state }, { caller, fetcher });
    expect(response.status).toBe(200);
    const { params } = redirectTarget(response.headers.get("x-redirect-uri"));
    expect(params.get("error")).toBe("access_denied");
    expect(params.get("iss")).toBe(ISSUER);
    expect(params.get("state")).toBe("st-123");
    expect(await consentsOf(caller)).toEqual([]);
  });

  it("a scope that was not requested is invalid_scope and issues nothing", async ({ expect }) => {
    const fetcher = docspace();
    const { client } = await newAuthorizeClient({ scopes: ["files:read", "files:write", "openid", "rooms:read"] });
    const caller = newCaller("USER");
    const state = await pendingState(fetcher, client.client_id, caller);
    const response = await postDocSpaceDecision(
      { client_id: client.client_id, state, scope: ["files:read", "rooms:read"] },
      { caller, fetcher },
    );
    expect(redirectTarget(response.headers.get("x-redirect-uri")).params.get("error")).toBe("invalid_scope");
    expect(await codesOf(client.client_id)).toEqual([]);
  });

  it("is accepted in builtin mode too; a wrong client, user or state changes nothing", async ({ expect }) => {
    const { client } = await newAuthorizeClient();
    const caller = newCaller("USER");
    const page = await authorize(authorizeParams(client.client_id, { scope: "files:read" }), { caller });
    expect(page.status).toBe(200);
    const state = cookieValue(setCookies(page).get("client_state"));
    const other = await newAuthorizeClient();
    for (const [fields, who] of [
      [{ client_id: other.client.client_id, state, scope: ["files:read"] }, caller],
      [{ client_id: client.client_id, state: "z".repeat(43), scope: ["files:read"] }, caller],
      [{ client_id: client.client_id, state, scope: ["files:read"] }, newCaller("USER", caller.tenantId)],
    ] as const) {
      const refused = await postDocSpaceDecision({ ...fields, scope: [...fields.scope] }, { caller: who });
      expect(refused.status).toBe(400);
      expect(refused.headers.get("x-redirect-uri")).toBeNull();
    }
    const response = await postDocSpaceDecision(
      { client_id: client.client_id, state, scope: ["files:read"] },
      { caller },
    );
    expect(response.status).toBe(200);
    expect(redirectTarget(response.headers.get("x-redirect-uri")).params.get("code")).toBeTruthy();
    // Single use.
    const again = await postDocSpaceDecision({ client_id: client.client_id, state, scope: ["files:read"] }, { caller });
    expect(again.status).toBe(400);
  });

  it("needs the x-signature header, which a cross-site form cannot send: the cookie alone is refused", async ({
    expect,
  }) => {
    const fetcher = docspace();
    const { client } = await newAuthorizeClient();
    const caller = newCaller("USER");
    const state = await pendingState(fetcher, client.client_id, caller);
    const signature = await signatureAt(caller, ORIGIN, fetcher);
    const form = new FormData();
    form.append("client_id", client.client_id);
    form.append("state", state);
    form.append("scope", "files:read");
    const cookieOnly = await fetcher(
      new Request(AUTHORIZE, {
        method: "POST",
        headers: { cookie: `x-signature=${signature}`, "x-disable-redirect": "true" },
        body: form,
        redirect: "manual",
      }),
    );
    expect(cookieOnly.status).toBe(403);
    expect(cookieOnly.headers.get("x-redirect-uri")).toBeNull();
    expect(await codesOf(client.client_id)).toEqual([]);
    // Nothing was consumed: the same decision with the header goes through.
    const response = await postDocSpaceDecision(
      { client_id: client.client_id, state, scope: ["files:read"] },
      { caller, fetcher },
    );
    expect(response.status).toBe(200);
  });

  it("refuses a repeated or over-long field as unreadable, changing nothing", async ({ expect }) => {
    const fetcher = docspace();
    const { client } = await newAuthorizeClient();
    const caller = newCaller("USER");
    const state = await pendingState(fetcher, client.client_id, caller);
    const signature = await signatureAt(caller, ORIGIN, fetcher);
    for (const fields of [
      [
        ["client_id", client.client_id],
        ["state", state],
        ["state", state],
      ],
      [
        ["client_id", client.client_id],
        ["state", "s".repeat(129)],
      ],
      [
        ["client_id", client.client_id],
        ["state", state],
        ["scope", "x".repeat(257)],
      ],
    ]) {
      const form = new FormData();
      for (const [name, value] of fields) form.append(name as string, value as string);
      const refused = await fetcher(
        new Request(AUTHORIZE, {
          method: "POST",
          headers: { "x-signature": signature, "x-disable-redirect": "true" },
          body: form,
          redirect: "manual",
        }),
      );
      expect(refused.status).toBe(400);
    }
    expect(await codesOf(client.client_id)).toEqual([]);
  });

  it("without X-Disable-Redirect the answer is a 302 to the same URL", async ({ expect }) => {
    const fetcher = docspace();
    const { client } = await newAuthorizeClient();
    const caller = newCaller("USER");
    const state = await pendingState(fetcher, client.client_id, caller);
    const response = await postDocSpaceDecision(
      { client_id: client.client_id, state, scope: ["files:read"] },
      { caller, fetcher, headers: { "x-disable-redirect": "false" } },
    );
    expect(response.status).toBe(302);
    expect(redirectTarget(response.headers.get("location")).params.get("code")).toBeTruthy();
  });
});

describe("the failure story of allow: never a code without the recorded consent", () => {
  it("D1 failing at every step of the decision: 503 and no code, or the consent kept (the user's real decision)", async ({
    expect,
  }) => {
    const { faultyD1 } = await import("../helpers/faults");
    // The worker logs each injected 503; the test asserts on outcomes, not on those lines.
    const quiet = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const outcomes: string[] = [];
    for (let failAt = 1; failAt <= 12; failAt++) {
      const { client } = await newAuthorizeClient();
      const caller = newCaller("USER");
      const page = await consentPageFor(client.client_id, caller);
      const { db, counter } = faultyD1(env.DB, { failAt });
      const fetcher = appFetcher({ env: { DB: db } as Partial<Env> });
      const response = await postDecision(allow(page), { caller, fetcher });
      const codes = await codesOf(client.client_id);
      const consents = await consentsOf(caller);
      if (counter.calls.length < failAt) {
        // Every step ran: the full success.
        expect(response.status).toBe(302);
        expect([codes.length, consents.length]).toEqual([1, 1]);
        outcomes.push(`${failAt}:ok`);
        break;
      }
      expect(response.status, `fault at ${failAt} (${counter.calls.join(",")})`).toBe(503);
      expect(codes, `fault at ${failAt}`).toEqual([]);
      outcomes.push(`${failAt}:${counter.calls[failAt - 1]}:${consents.length > 0 ? "consent kept" : "nothing"}`);
    }
    // The last step (issuing the code) failing leaves the consent; every earlier one leaves nothing.
    expect(outcomes.at(-1)).toMatch(/:ok$/);
    expect(outcomes.at(-2)).toMatch(/consent kept$/);
    expect(outcomes.slice(0, -2).every((o) => o.endsWith("nothing"))).toBe(true);
    quiet.mockRestore();
  });
});
