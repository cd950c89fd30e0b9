import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../env";
import { userInfo } from "../../services/userinfo";
import type { getUserInfoRoute, postUserInfoRoute } from "./userinfo.routes";

type UserInfoRoute = typeof getUserInfoRoute | typeof postUserInfoRoute;

/** GET and POST alike: the Bearer token of the `Authorization` header (RFC 6750 §2.1). */
export const userInfoHandler: RouteHandler<UserInfoRoute, AppEnv> = async (c) => {
  const answer = await userInfo(c.var.deps, {
    origin: new URL(c.req.url).origin,
    authorization: c.req.header("authorization"),
  });
  c.set("corsAllowedOrigins", answer.allowedOrigins);
  return c.json(answer.claims, 200, { "cache-control": "no-store", pragma: "no-cache" });
};
