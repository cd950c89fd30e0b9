import { createMiddleware } from "hono/factory";
import { signaturePolicy } from "../auth/signature-policy";
import { extractSignature, type SignatureRejection, verifySignature } from "../auth/x-signature";
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
 * What the caller is told. Only `expired` is told apart, and the verifier reports it only after
 * the MAC verified: the holder of a genuine but stale token learns to fetch a new one, while a
 * forger (bad MAC, malformed, wrong alg) learns nothing. A genuine token that is not yet valid,
 * lives too long or lacks `exp` is "Invalid signature.": it did not expire, and no DocSpace backend
 * mints such a token, so it points at a broken issuer or clock rather than a stale session.
 */
function signatureFailureDetail(reason: SignatureRejection | undefined): string {
  if (reason === undefined) return "A valid x-signature is required.";
  return reason === "expired" ? "The signature has expired." : "Invalid signature.";
}

/**
 * Answers 403 (DocSpace has no 401 on this API) unless a valid x-signature was sent. Typed with
 * `SignedEnv`, so the handler of a route that lists it reads `c.var.principal` as a `Principal`.
 */
export const requireSignature = createMiddleware<SignedEnv>(async (c, next) => {
  if (!c.get("principal")) {
    throw new HttpProblem({
      status: 403,
      type: PROBLEM_TYPES.invalidSignature,
      detail: signatureFailureDetail(c.get("authFailure")),
    });
  }
  await next();
});
