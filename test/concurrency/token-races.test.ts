import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import { appFetcher } from "../helpers/app";
import { orphanTokens, storedCodesOf, storedFamiliesOf, storedTokensOf } from "../helpers/authorization-store";
import { codeForm, consentedCode, redeem, refreshCall, tokenCall } from "../helpers/token-endpoint";

// AS §10 through the worker: twenty token requests race against the real D1 (each request is its
// own app invocation, as concurrent isolates would be), and single use holds end to end.

const RACERS = 20;

/**
 * Wraps D1 so that `hook` runs once, right after the first operation (a statement or a batch) whose
 * SQL matches `pattern` has run and before its caller sees the result: a racer landing exactly there,
 * deterministically. Plain wrappers, unwrapped for `batch`, as test/helpers/faults.ts does.
 */
function d1WithHookAfter(db: D1Database, pattern: RegExp, hook: () => Promise<unknown>): D1Database {
  const real = new WeakMap<object, D1PreparedStatement>();
  const matching = new WeakSet<object>();
  let fired = false;
  async function after<T>(result: T, matched: boolean): Promise<T> {
    if (matched && !fired) {
      fired = true;
      await hook();
    }
    return result;
  }
  function wrap(statement: D1PreparedStatement, matched: boolean): D1PreparedStatement {
    const wrapper = {
      bind: (...values: unknown[]) => wrap(statement.bind(...values), matched),
      first: async (column?: string) =>
        after(await (column === undefined ? statement.first() : statement.first(column)), matched),
      all: async () => after(await statement.all(), matched),
      run: async () => after(await statement.run(), matched),
      // biome-ignore lint/suspicious/noExplicitAny: D1's raw() overloads do not accept a union argument.
      raw: async (options?: { columnNames?: boolean }) => after(await statement.raw(options as any), matched),
    } as unknown as D1PreparedStatement;
    real.set(wrapper, statement);
    if (matched) matching.add(wrapper);
    return wrapper;
  }
  return {
    prepare: (query: string) => wrap(db.prepare(query), pattern.test(query)),
    batch: async (statements: D1PreparedStatement[]) =>
      after(
        await db.batch(statements.map((s) => real.get(s) ?? s)),
        statements.some((s) => matching.has(s)),
      ),
    exec: (query: string) => db.exec(query),
    dump: () => db.dump(),
    withSession: () => d1WithHookAfter(db, pattern, hook),
  } as unknown as D1Database;
}

async function answers(responses: Response[]) {
  return Promise.all(
    responses.map(async (response) => ({
      status: response.status,
      body: (await response.json()) as Record<string, string>,
    })),
  );
}

describe("racing token requests", () => {
  it("20 parallel redemptions of one code: exactly one 200, every other is invalid_grant, and the winner's family ends revoked", async ({
    expect,
  }) => {
    const { client, code } = await consentedCode();
    const results = await answers(
      await Promise.all(Array.from({ length: RACERS }, () => tokenCall(codeForm(client, code)))),
    );
    // Consumption and family start are one D1 batch, so no replay can slip between them (AS §10).
    const ok = results.filter((r) => r.status === 200);
    expect(ok).toHaveLength(1);
    const refused = results.filter((r) => r.status === 400);
    expect(refused).toHaveLength(RACERS - 1);
    for (const r of refused) expect(r.body.error).toBe("invalid_grant");
    const [row] = await storedCodesOf(client.client_id);
    expect(row?.consumed_on).not.toBeNull();
    expect(row?.replayed_on).not.toBeNull();
    // The 19 others are replays of a code that leaked (RFC 9700 §4.5, RFC 6749 §4.1.2): they revoke
    // what the winner's redemption issued, so its refresh token is dead afterwards.
    const families = await storedFamiliesOf(client.client_id);
    expect(families).toHaveLength(1);
    expect(families[0]).toMatchObject({ family_id: row?.family_id, revoked_reason: "code_replay" });
    const winner = ok[0]?.body.refresh_token as string;
    expect(winner).toEqual(expect.any(String));
    const after = await refreshCall(client, winner);
    expect(after.status).toBe(400);
    expect(((await after.json()) as { error: string }).error).toBe("invalid_grant");
    expect(await orphanTokens()).toEqual([]);
  });

  it("a replay landing right after the winner consumed the code: the winner still gets its 200, and the replay revokes its family", async ({
    expect,
  }) => {
    // Before consumption and family start were one batch, a replay here left the winner with no
    // family to start, and both answered invalid_grant: zero 200s.
    const { client, code } = await consentedCode();
    const replays: Response[] = [];
    const db = d1WithHookAfter(env.DB, /^update "authorization_codes" set "consumed_on"/, async () => {
      replays.push(await tokenCall(codeForm(client, code)));
    });
    const winner = await tokenCall(codeForm(client, code), { fetcher: appFetcher({ env: { DB: db } }) });
    const [replay] = replays;
    if (!replay) throw new Error("the replay never ran");
    expect(replays).toHaveLength(1);
    expect(replay.status).toBe(400);
    expect(((await replay.json()) as { error: string }).error).toBe("invalid_grant");
    expect(winner.status).toBe(200);
    const body = (await winner.json()) as Record<string, string>;
    const [family] = await storedFamiliesOf(client.client_id);
    expect(family).toMatchObject({ revoked_reason: "code_replay" });
    expect((await refreshCall(client, body.refresh_token as string)).status).toBe(400);
  });

  it("20 parallel refreshes of one token: exactly one 200, and the family is revoked (its successor fails)", async ({
    expect,
  }) => {
    const { client, code } = await consentedCode();
    const first = await redeem(client, code);
    const results = await answers(
      await Promise.all(Array.from({ length: RACERS }, () => refreshCall(client, first.refresh_token as string))),
    );
    const ok = results.filter((r) => r.status === 200);
    expect(ok).toHaveLength(1);
    expect(results.filter((r) => r.status === 400 && r.body.error === "invalid_grant")).toHaveLength(RACERS - 1);
    const [family] = await storedFamiliesOf(client.client_id);
    expect(family?.revoked_reason).toBe("reuse");
    // Exactly one successor was written: the winner's.
    expect(await storedTokensOf(family?.family_id as string)).toHaveLength(2);
    const successor = ok[0]?.body.refresh_token as string;
    const after = await refreshCall(client, successor);
    expect(after.status).toBe(400);
    expect(((await after.json()) as { error: string }).error).toBe("invalid_grant");
  });

  it("20 refreshes of 20 different grants of one client never interfere", async ({ expect }) => {
    const grants = await Promise.all(
      Array.from({ length: RACERS }, async () => {
        const { client, code } = await consentedCode();
        return { client, token: (await redeem(client, code)).refresh_token as string };
      }),
    );
    const statuses = await Promise.all(
      grants.map(({ client, token }) => refreshCall(client, token).then((r) => r.status)),
    );
    expect(statuses).toEqual(Array(RACERS).fill(200));
  });
});
