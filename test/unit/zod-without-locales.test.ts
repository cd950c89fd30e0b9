import { z as extended } from "@hono/zod-openapi";
import { describe, it } from "vitest";
import * as slim from "zod";
import * as full from "zod/v4";
import * as fullCore from "zod/v4/core";

// `zod` resolves to src/lib/zod-without-locales.ts here, as in the deployed bundle (wrangler.toml
// `[alias]`, vitest.config.ts `resolve.alias`); `zod/v4` is the unaliased package. The shim must
// drop the message locales and nothing else, and share zod's classes, so that @hono/zod-openapi's
// `.openapi()` extension and every schema work exactly as with the real package.

describe("zod without locales (bundle alias)", () => {
  it("is the alias, not the package: the locales are gone, in z and in z.core", ({ expect }) => {
    expect(Object.keys(slim.locales)).toEqual([]);
    expect(Object.keys(slim.core.locales)).toEqual([]);
    expect(Object.keys(full.locales).length).toBeGreaterThan(30);
  });

  it("keeps every other export of zod and of zod/v4/core, as the same values", ({ expect }) => {
    const exceptLocales = (names: string[]) => names.filter((n) => n !== "locales").sort();
    expect(exceptLocales(Object.keys(slim))).toEqual(exceptLocales(Object.keys(full)));
    expect(exceptLocales(Object.keys(slim.core))).toEqual(exceptLocales(Object.keys(fullCore)));
    for (const name of ["ZodType", "ZodObject", "object", "string", "toJSONSchema", "config"] as const) {
      expect(slim.z[name], name).toBe(full.z[name]);
    }
    expect(slim.z.core.$ZodType).toBe(fullCore.$ZodType);
    expect(slim.default).toBe(slim.z);
  });

  it("is the zod that @hono/zod-openapi extends: schemas carry .openapi() and English messages", ({ expect }) => {
    expect(Object.keys(extended.locales), "@hono/zod-openapi's z is the alias too").toEqual([]);
    expect(extended.ZodType).toBe(slim.z.ZodType);
    const schema = slim.z.object({ name: slim.z.string().min(1) }).openapi("Named");
    const result = schema.safeParse({ name: "" });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toMatch(/Too small/);
  });
});
