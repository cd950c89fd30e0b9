import { notFound } from "../../lib/problem";
import { createRouter } from "../../lib/router";
import { PAGE_STYLESHEET_PATH } from "../../pages/page-style";
import * as handlers from "./authorize.handlers";
import * as routes from "./authorize.routes";

/**
 * GET and POST /oauth2/authorize (AS §4) at the root, and the stylesheet of the pages they render
 * (not part of the API, so not in the document: it sits under a wildcard like the docs' assets).
 * The contracts are registered for the document only and the handlers as plain routes: see
 * authorize.routes.ts for why nothing is validated by zod here.
 */
export const authorizeRouter = createRouter();
authorizeRouter.openAPIRegistry.registerPath(routes.getAuthorizeRoute);
authorizeRouter.openAPIRegistry.registerPath(routes.postAuthorizeRoute);
authorizeRouter.get(routes.AUTHORIZE_PATH, handlers.authorizeHandler);
authorizeRouter.post(routes.AUTHORIZE_PATH, handlers.decideAuthorizationHandler);
authorizeRouter.get(`${PAGE_STYLESHEET_PATH.slice(0, PAGE_STYLESHEET_PATH.lastIndexOf("/"))}/*`, (c) => {
  // Thrown, not c.notFound(): the app's notFound would see GET routed here and answer 405.
  if (c.req.path !== PAGE_STYLESHEET_PATH) throw notFound("No such file.");
  return handlers.stylesheetHandler(c);
});
