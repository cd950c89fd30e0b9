import { HTTPException } from "hono/http-exception";
import { describeError } from "./lib/describe-error";
import { allowedMethodsResolver } from "./lib/method-not-allowed";
import { isOAuthJsonPath, OAuthError, oauthErrorFromProblem, oauthErrorResponse } from "./lib/oauth-error";
import { openApiDocumentFor } from "./lib/openapi";
import { API_BASE } from "./lib/paths";
import { HttpProblem, PROBLEM_TYPES } from "./lib/problem";
import { problemResponse } from "./lib/problem-response";
import { createRouter } from "./lib/router";
import { accessLog } from "./middleware/access-log";
import { identifyCaller } from "./middleware/auth";
import { provideDependencies } from "./middleware/dependencies";
import { noStore } from "./middleware/no-store";
import { oauthCors } from "./middleware/oauth-cors";
import { oauthRateLimit } from "./middleware/oauth-rate-limit";
import { publicCorsPreflight } from "./middleware/public-cors";
import { rateLimit } from "./middleware/rate-limit";
import { requestContext } from "./middleware/request-context";
import { identifyService } from "./middleware/service-auth";
import {
  apiRouters,
  authorizationServerRouters,
  OAUTH_TOKEN_MANAGEMENT_PATHS,
  PUBLIC_DOCUMENT_PATHS,
  rootRouter,
} from "./routes";
import { TOKEN_PATH } from "./routes/token/token.routes";

export type AppOptions = {
  /** Milliseconds since the epoch; tests inject a fixed or stepping clock. */
  clock?: () => number;
};

/**
 * Builds the gateway: request context → access log → dependencies → caller identification →
 * rate limit → routers (in the order of routes/index.ts), with one error handler that renders
 * every failure as problem+json. The authorization server's root endpoints (`/oauth2/…`, the root
 * `/.well-known/…` metadata) get the request context, access log and dependencies, CORS preflights
 * on the public documents, and their own limiter (`oauthRateLimit`), with OAuth error bodies on the
 * JSON endpoints.
 */
export function createApp(options: AppOptions = {}) {
  const app = createRouter();
  const api = createRouter();

  app.use("*", requestContext(options.clock ?? Date.now));
  app.use("*", accessLog);
  app.use(`${API_BASE}/*`, provideDependencies);
  app.use(`${API_BASE}/*`, identifyCaller);
  // Before the limiter, which keys service routes on the verified service token.
  app.use(`${API_BASE}/oauth2/*`, identifyService);
  app.use(`${API_BASE}/oauth2/*`, noStore);
  app.use(`${API_BASE}/*`, rateLimit);
  // The authorization server's root endpoints (AS §1), and its metadata at the root discovery paths.
  app.use("/oauth2/*", provideDependencies);
  app.use("/.well-known/*", provideDependencies);
  // Any origin may read the metadata and the JWKS (AS §1): preflights answered before routing.
  for (const path of PUBLIC_DOCUMENT_PATHS) app.use(path, publicCorsPreflight);
  // The token endpoint: CORS (AS §1; preflights answered here, before the limiter counts them),
  // no-store on every answer, and the x-signature for the personal_access_token grant — this path only.
  app.use(TOKEN_PATH, oauthCors);
  app.use(TOKEN_PATH, noStore);
  app.use(TOKEN_PATH, identifyCaller);
  // Introspection, revocation and userinfo: the same CORS and no-store (AS §1).
  for (const path of OAUTH_TOKEN_MANAGEMENT_PATHS) {
    app.use(path, oauthCors);
    app.use(path, noStore);
  }
  // Token, revocation and introspection per client (AS §9); metadata, JWKS and userinfo are never limited.
  app.use("/oauth2/*", oauthRateLimit);
  // Only the authorization endpoint reads the user (AS §3); the JWKS stays free of signature checks.
  app.use("/oauth2/authorize", identifyCaller);

  // The document is generated from the whole app on first request, so every router appears in it.
  for (const router of apiRouters(() => openApiDocumentFor(app))) api.route("/", router);
  app.route(API_BASE, api);
  for (const router of authorizationServerRouters()) app.route("/", router);
  app.route("/", rootRouter);

  const allowedMethods = allowedMethodsResolver(() => app.router);

  app.notFound((c) => {
    const allow = allowedMethods(c.req.path);
    if (allow.length > 0 && isOAuthJsonPath(c.req.path)) {
      // The OAuth JSON endpoints answer every error in RFC 6749's shape (AS §1).
      return oauthErrorResponse({
        status: 405,
        error: "invalid_request",
        description: `${c.req.method} is not supported here; use ${allow.join(", ")}.`,
        headers: { allow: allow.join(", ") },
      });
    }
    if (allow.length > 0) {
      return problemResponse(c, {
        status: 405,
        type: PROBLEM_TYPES.methodNotAllowed,
        detail: `${c.req.method} is not supported here; use ${allow.join(", ")}.`,
        headers: { allow: allow.join(", ") },
      });
    }
    return problemResponse(c, { status: 404, type: PROBLEM_TYPES.notFound, detail: "No such route." });
  });

  app.onError((error, c) => {
    if (error instanceof OAuthError) {
      if (error.init.status >= 500) logFailure(c.get("requestId"), error.cause ?? error);
      return oauthErrorResponse(error.init);
    }
    // The authorization server's JSON endpoints answer OAuth errors, never problem+json (AS §1).
    if (isOAuthJsonPath(c.req.path)) {
      if (error instanceof HttpProblem) {
        if (error.init.status >= 500) logFailure(c.get("requestId"), error.cause ?? error);
        return oauthErrorResponse(oauthErrorFromProblem(error.init));
      }
      if (error instanceof HTTPException && error.status < 500) {
        return oauthErrorResponse({
          status: 400,
          error: "invalid_request",
          description: "The request could not be read.",
        });
      }
      logFailure(c.get("requestId"), error);
      return oauthErrorResponse({
        status: 500,
        error: "server_error",
        description: "An unexpected error occurred. Quote the request id when reporting it.",
      });
    }
    if (error instanceof HttpProblem) {
      if (error.init.status >= 500) logFailure(c.get("requestId"), error.cause ?? error);
      return problemResponse(c, error.init);
    }
    // The router's media-type gate throws its own 415; keep the status it chose.
    if (error instanceof HTTPException && error.status === 415) {
      return problemResponse(c, {
        status: 415,
        type: PROBLEM_TYPES.unsupportedMediaType,
        detail: "The request body must be application/json.",
      });
    }
    if (error instanceof HTTPException && error.status < 500) {
      return problemResponse(c, {
        status: 400,
        type: PROBLEM_TYPES.badRequest,
        detail: "The request could not be read.",
      });
    }
    logFailure(c.get("requestId"), error);
    return problemResponse(c, {
      status: 500,
      type: PROBLEM_TYPES.internal,
      detail: "An unexpected error occurred. Quote the request id when reporting it.",
    });
  });

  return app;
}

/** Logs the error's class and message with the request id; never request data. */
function logFailure(requestId: string | undefined, error: unknown): void {
  console.error(
    JSON.stringify({
      level: "error",
      msg: "request failed",
      request_id: requestId ?? null,
      error: describeError(error),
    }),
  );
}
