import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../env";
import { JWKS_CACHE_SECONDS, publishedKeys } from "../../keys/signing-keys";
import { toJwks } from "../../schemas/presenters";
import type { getJwksRoute } from "./jwks.routes";

const JWKS_HEADERS = {
  "cache-control": `public, max-age=${JWKS_CACHE_SECONDS}`,
  "access-control-allow-origin": "*",
};

export const getJwksHandler: RouteHandler<typeof getJwksRoute, AppEnv> = async (c) =>
  c.json(toJwks(await publishedKeys(c.var.deps)), 200, JWKS_HEADERS);
