/**
 * Works out which methods a path supports by asking the app's own router, so that a known path
 * with the wrong method answers 405 with `Allow` instead of 404 (SPEC §5) — and the answer always
 * agrees with what the router would serve (a path it does not route, like `/scopes//`, is a 404).
 */

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;

/** The part of Hono's router this needs: each match carries the registered route's method. */
type RouteMatcher = {
  match(method: string, path: string): [[[unknown, { method: string }], unknown][], ...unknown[]];
};

/**
 * Returns a function listing the methods that have an endpoint at a path (empty for a path no route
 * serves). `path` is the path as the router sees it (`c.req.path`). Middleware is registered for
 * "ALL" methods and does not count.
 */
export function allowedMethodsResolver(router: () => RouteMatcher): (path: string) => string[] {
  return (path) => {
    const allowed = METHODS.filter((method) =>
      router()
        .match(method, path)[0]
        .some(([[, route]]) => route.method === method),
    );
    return (allowed.includes("GET") ? [...allowed, "HEAD"] : [...allowed]).sort();
  };
}
