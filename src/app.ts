import { HTTPException } from "hono/http-exception";
import { allowedMethodsResolver } from "./lib/method-not-allowed";
import { HttpProblem, PROBLEM_TYPES, problemResponse } from "./lib/problem";
import { createRouter } from "./lib/router";
import { accessLog } from "./middleware/access-log";
import { identifyCaller } from "./middleware/auth";
import { rateLimit } from "./middleware/rate-limit";
import { requestContext } from "./middleware/request-context";
import { clientsRouter } from "./routes/clients/clients.index";

export const API_BASE = "/api/2.0";

export type AppOptions = {
  /** Milliseconds since the epoch; tests inject a fixed or stepping clock. */
  clock?: () => number;
};

/**
 * Builds the gateway: request context → access log → caller identification → rate limit →
 * routers, with one error handler that renders every failure as problem+json.
 */
export function createApp(options: AppOptions = {}) {
  const app = createRouter();
  const api = createRouter();

  app.use("*", requestContext(options.clock ?? Date.now));
  app.use("*", accessLog);
  app.use(`${API_BASE}/*`, identifyCaller);
  app.use(`${API_BASE}/*`, rateLimit);

  api.route("/", clientsRouter);
  app.route(API_BASE, api);

  const allowedMethods = allowedMethodsResolver(() => app.routes);

  app.notFound((c) => {
    const allow = allowedMethods(c.req.path);
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
    if (error instanceof HttpProblem) {
      if (error.init.status >= 500) logFailure(c.get("requestId"), error.cause ?? error);
      return problemResponse(c, error.init);
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
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    }),
  );
}
