import type { Principal } from "./auth/principal";
import type { SignatureRejection } from "./auth/x-signature";
import type { ServiceDeps } from "./services/deps";

/** What middleware hands to handlers (`c.var`). */
type AppVariables = {
  /** Sanitised or generated id echoed in `x-request-id` and every log line. */
  requestId: string;
  /** Milliseconds since the epoch; the single clock a request sees (tests inject it). */
  now: number;
  /** Everything a service needs, built once per request by `provideDependencies`. */
  deps: ServiceDeps;
  /** The verified caller, when the request carried a valid x-signature. */
  principal: Principal | undefined;
  /** Why the signature was rejected; set only when a signature was present and invalid. */
  authFailure: SignatureRejection | undefined;
  /**
   * Identity of the verified service token (a fingerprint, never the token) on /oauth2/* routes;
   * set by `identifyService`, used by `requireServiceToken` and as the rate-limit key.
   */
  service: string | undefined;
  /**
   * The `allowed_origins` of the client an OAuth endpoint authenticated, set by its handler;
   * `oauthCors` reflects a listed `Origin` on the response (AS §1).
   */
  corsAllowedOrigins: readonly string[] | undefined;
};

/**
 * The one hand-written environment type: bindings come from `wrangler types`
 * (src/worker-configuration.d.ts); variables are what middleware hands to handlers.
 */
export type AppEnv = {
  Bindings: Env;
  Variables: AppVariables;
};

/** The environment behind `requireSignature`: the principal is known (routes infer it from their middleware). */
export type SignedEnv = {
  Bindings: Env;
  Variables: Omit<AppVariables, "principal"> & { principal: Principal };
};

/** The environment behind `requireServiceToken`: the service identity is known. */
export type ServiceEnv = {
  Bindings: Env;
  Variables: Omit<AppVariables, "service"> & { service: string };
};
