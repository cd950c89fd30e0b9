import { createRouter } from "../../lib/router";
import * as handlers from "./scopes.handlers";
import * as routes from "./scopes.routes";

/** The scope listing (SPEC §4.13). */
export const scopesRouter = createRouter().openapi(routes.getScopesRoute, handlers.getScopesHandler);
