import type { Principal } from "./auth/principal";

/**
 * The one hand-written environment type: bindings come from `wrangler types`
 * (src/worker-configuration.d.ts); variables are what middleware hands to handlers.
 */
export type AppEnv = {
  Bindings: Env;
  Variables: {
    /** Sanitised or generated id echoed in `x-request-id` and every log line. */
    requestId: string;
    /** The verified caller, when the request carried a valid x-signature. */
    principal: Principal | undefined;
    /** Why the signature was rejected; set only when a signature was present and invalid. */
    authFailure: string | undefined;
    /** Milliseconds since the epoch; the single clock a request sees (tests inject it). */
    now: number;
    /**
     * Identity of the verified service token (a fingerprint, never the token) on /oauth2/* routes;
     * set by `identifyService`, used by `requireServiceToken` and as the rate-limit key.
     */
    service: string | undefined;
  };
};
