import { describe, it } from "vitest";
import { call, createClientAs } from "../helpers/api";
import { appFetcher, manualClock } from "../helpers/app";
import { newCaller } from "../helpers/signature";

describe("smoke", () => {
  it("creates and updates a client", async ({ expect }) => {
    const admin = newCaller("ADMIN");
    const created = await createClientAs(admin);
    expect(created.client_secret).toHaveLength(36);
    const res = await call("PUT", `/clients/${created.client_id}`, {
      caller: admin,
      body: { name: "New name", allowed_origins: ["https://x.example"] },
    });
    expect(res.status).toBe(200);
  });

  it("uses an injected clock", async ({ expect }) => {
    const clock = manualClock();
    const admin = newCaller("ADMIN");
    const res = await call("POST", "/clients", {
      caller: admin,
      body: {
        name: "Clocked",
        redirect_uris: ["https://a.example/cb"],
        allowed_origins: ["https://a.example"],
        scopes: ["openid"],
      },
      fetcher: appFetcher({ clock: clock.now }),
    });
    expect(res.status).toBe(201);
    expect(((await res.json()) as { created_on: string }).created_on).toBe("2026-11-28T12:00:00.000Z");
  });
});
