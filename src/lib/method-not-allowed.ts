/**
 * Works out which methods a path supports from the app's registered routes, so that a known
 * path with the wrong method answers 405 with `Allow` instead of 404 (SPEC §5).
 */

type RegisteredRoute = { method: string; path: string };

type RoutePattern = { method: string; pattern: RegExp };

function compile(routes: RegisteredRoute[]): RoutePattern[] {
  return routes
    .filter((r) => r.method !== "ALL" && !r.path.includes("*"))
    .map((r) => ({
      method: r.method,
      pattern: new RegExp(
        `^${r.path
          .split("/")
          .map((segment) => (segment.startsWith(":") ? "[^/]+" : segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
          .join("/")}/?$`,
      ),
    }));
}

/** Returns a function listing the methods registered for a path (empty for an unknown path). */
export function allowedMethodsResolver(routes: () => RegisteredRoute[]): (path: string) => string[] {
  let patterns: RoutePattern[] | undefined;
  return (path) => {
    patterns ??= compile(routes());
    const methods = new Set(patterns.filter((p) => p.pattern.test(path)).map((p) => p.method));
    if (methods.has("GET")) methods.add("HEAD");
    return [...methods].sort();
  };
}
