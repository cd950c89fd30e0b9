import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Stamps every request with an id (the caller's `x-request-id` when it is a sane token, else a
 * new UUID) and the request's clock reading, and echoes the id on every response.
 */
export function requestContext(clock: () => number) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const incoming = c.req.header("x-request-id");
    const requestId = incoming && SANE_REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
    c.set("requestId", requestId);
    c.set("now", clock());
    c.set("principal", undefined);
    c.set("authFailure", undefined);
    await next();
    c.res.headers.set("x-request-id", requestId);
  });
}
