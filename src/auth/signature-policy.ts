/**
 * How long an x-signature may live (SPEC §3), from two wrangler vars. Kept free of imports so
 * scripts/ can read the default too.
 */

/** The longest lifetime accepted by default: DocSpace mints 5-minute tokens, so an hour is ample. */
export const DEFAULT_MAX_SIGNATURE_TTL_SECONDS = 3600;

/** The lifetime rules `verifySignature` applies. */
export type SignaturePolicy = {
  /** `exp` may be at most this many seconds (plus the clock skew) after the verifier's clock. */
  maxTtlSeconds: number;
  /** Whether a token without `exp` is refused. */
  requireExp: boolean;
};

/** The policy when neither var is set (or either is invalid). */
export const DEFAULT_SIGNATURE_POLICY: Readonly<SignaturePolicy> = Object.freeze({
  maxTtlSeconds: DEFAULT_MAX_SIGNATURE_TTL_SECONDS,
  requireExp: true,
});

/** The vars the policy is read from (a subset of `Env`, so tests and scripts can pass plain objects). */
export type SignaturePolicyVars = {
  MAX_SIGNATURE_TTL_SECONDS?: string;
  REQUIRE_SIGNATURE_EXP?: string;
};

/**
 * Reads the policy from vars. An invalid value falls back to its default rather than failing every
 * request: `MAX_SIGNATURE_TTL_SECONDS` must be a whole number ≥ 1 (else 3600), and
 * `REQUIRE_SIGNATURE_EXP` must be `true` or `false`, case-insensitive (else true, the stricter).
 */
export function signaturePolicy(vars: SignaturePolicyVars): SignaturePolicy {
  const ttl = vars.MAX_SIGNATURE_TTL_SECONDS?.trim() ?? "";
  const ttlSeconds = /^\d{1,15}$/.test(ttl) ? Number(ttl) : 0;
  const requireExp = vars.REQUIRE_SIGNATURE_EXP?.trim().toLowerCase();
  return {
    maxTtlSeconds: ttlSeconds >= 1 ? ttlSeconds : DEFAULT_MAX_SIGNATURE_TTL_SECONDS,
    requireExp: requireExp !== "false",
  };
}
