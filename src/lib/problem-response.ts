import type { Context } from "hono";
import type { AppEnv } from "../env";
import { type ProblemInit, REASON_PHRASES } from "./problem";

/** Renders a problem+json response carrying the request's path and id. */
export function problemResponse(c: Context<AppEnv>, init: ProblemInit): Response {
  const body: Record<string, unknown> = {
    type: init.type,
    title: REASON_PHRASES[init.status] ?? "Error",
    status: init.status,
    detail: init.detail,
    instance: new URL(c.req.url).pathname,
    request_id: c.get("requestId"),
  };
  if (init.errors) body.errors = init.errors;
  const headers = new Headers(init.headers);
  headers.set("content-type", "application/problem+json");
  return new Response(JSON.stringify(body), { status: init.status, headers });
}
