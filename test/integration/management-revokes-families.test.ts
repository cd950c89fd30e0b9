import { describe, it } from "vitest";
import { issueCode, redeemCode } from "../../src/authorization/codes";
import { familyIsLive, rotateRefreshToken } from "../../src/authorization/refresh-tokens";
import { call, createClientAs } from "../helpers/api";
import { storeDeps, storedFamiliesOf } from "../helpers/authorization-store";
import { type Caller, newCaller } from "../helpers/signature";

// AS §8: every management route that revokes tokens in KV also revokes the refresh families the
// authorization server started for them, in the same D1 batch as its change — so a refresh token
// stops rotating at the moment its client is deleted, its consent revoked or its tokens revoked.

/** A refresh family of `user` for `clientId`, started the way the token endpoint starts one. */
async function familyFor(clientId: string, user: Caller) {
  const { deps } = storeDeps(Date.now());
  const code = await issueCode(deps, {
    clientId,
    tenant: user.tenantId,
    userId: user.userId,
    redirectUri: "https://example.com/callback",
    scopes: ["files:read"],
    codeChallenge: null,
    nonce: null,
    authTime: Date.now(),
  });
  const redeemed = await redeemCode(deps, code, clientId);
  if (redeemed.kind !== "redeemed") throw new Error("the code did not redeem");
  return redeemed.family;
}

const live = (familyId: string) => familyIsLive(storeDeps(Date.now()).deps, familyId);

describe("management routes revoke the refresh families of what they revoke", () => {
  it("deleteClient revokes every family of the client, and its refresh tokens stop rotating", async ({ expect }) => {
    const owner = newCaller("USER");
    const other = newCaller("USER");
    const { client_id } = await createClientAs(owner);
    const mine = await familyFor(client_id, owner);
    const theirs = await familyFor(client_id, other);

    expect((await call("DELETE", `/clients/${client_id}`, { caller: owner })).status).toBe(200);
    expect(await live(mine.familyId)).toBe(false);
    expect(await live(theirs.familyId)).toBe(false);
    const families = await storedFamiliesOf(client_id);
    expect(families.map((f) => f.revoked_reason)).toEqual(["client_deleted", "client_deleted"]);
    const rotation = await rotateRefreshToken(storeDeps(Date.now()).deps, mine.refreshToken, client_id);
    expect(rotation.kind).toBe("invalid");
  });

  it.for(["/clients", "/clients/tenant"])(
    "DELETE %s revokes the families of every client it deletes",
    async (path, { expect }) => {
      const admin = newCaller("ADMIN");
      const first = await createClientAs(admin);
      const second = await createClientAs(admin);
      const families = [await familyFor(first.client_id, admin), await familyFor(second.client_id, admin)];

      expect((await call("DELETE", path, { caller: admin })).status).toBe(200);
      for (const family of families) expect(await live(family.familyId)).toBe(false);
    },
  );

  it("revokeUserClient revokes only the caller's families for that client", async ({ expect }) => {
    const owner = newCaller("ADMIN");
    const user = newCaller("USER", owner.tenantId);
    const { client_id } = await createClientAs(owner);
    const usersFamily = await familyFor(client_id, user);
    const ownersFamily = await familyFor(client_id, owner);

    expect((await call("DELETE", `/clients/${client_id}/revoke`, { caller: user })).status).toBe(200);
    expect(await live(usersFamily.familyId)).toBe(false);
    expect(await live(ownersFamily.familyId)).toBe(true);
    const reasons = (await storedFamiliesOf(client_id)).map((f) => [f.family_id, f.revoked_reason]);
    expect(reasons).toContainEqual([usersFamily.familyId, "consent_revoked"]);
  });

  it("revoke-all-tokens and activation with revoke_tokens revoke every family; activation alone does not", async ({
    expect,
  }) => {
    const owner = newCaller("USER");
    const { client_id } = await createClientAs(owner);
    const activation = `/clients/${client_id}/activation`;

    const kept = await familyFor(client_id, owner);
    expect((await call("PATCH", activation, { caller: owner, body: { status: false } })).status).toBe(200);
    expect((await call("PATCH", activation, { caller: owner, body: { status: true } })).status).toBe(200);
    expect(await live(kept.familyId)).toBe(true);

    const body = { status: true, revoke_tokens: true };
    expect((await call("PATCH", activation, { caller: owner, body })).status).toBe(200);
    expect(await live(kept.familyId)).toBe(false);

    const later = await familyFor(client_id, owner);
    expect((await call("DELETE", `/clients/${client_id}/tokens`, { caller: owner })).status).toBe(200);
    expect(await live(later.familyId)).toBe(false);
    expect((await storedFamiliesOf(client_id)).map((f) => f.revoked_reason)).toEqual([
      "tokens_revoked",
      "tokens_revoked",
    ]);
  });
});
