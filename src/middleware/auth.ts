import { createMiddleware } from "hono/factory";
import { signaturePolicy } from "../auth/signature-policy";
import { extractSignature, verifySignature } from "../auth/x-signature";
import type { AppEnv, SignedEnv } from "../env";
import { HttpProblem, PROBLEM_TYPES } from "../lib/problem";

/**
 * Verifies the x-signature when one is sent and records the principal (or the reason for
 * rejecting it) without answering: routes decide whether a signature is required, and the rate
 * limiter keys on the principal when there is one.
 */
export const identifyCaller = createMiddleware<AppEnv>(async (c, next) => {
  const token = extractSignature(c.req.raw.headers);
  if (token !== undefined) {
    const result = await verifySignature(token, c.env.DOCSPACE_MACHINE_KEY, c.get("now"), signaturePolicy(c.env));
    if (result.ok) c.set("principal", result.principal);
    else c.set("authFailure", result.reason);
  }
  await next();
});

/**
 * Answers 403 (DocSpace has no 401 on this API) unless a valid x-signature was sent. Typed with
 * `SignedEnv`, so the handler of a route that lists it reads `c.var.principal` as a `Principal`.
 */
export const requireSignature = createMiddleware<SignedEnv>(async (c, next) => {
  if (!c.get("principal")) {
    throw new HttpProblem({
      status: 403,
      type: PROBLEM_TYPES.invalidSignature,
      detail: c.get("authFailure") ? "Invalid signature." : "A valid x-signature is required.",
    });
  }
  await next();
});
