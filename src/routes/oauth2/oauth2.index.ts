import { createRouter } from "../../lib/router";
import * as handlers from "./oauth2.handlers";
import * as routes from "./oauth2.routes";

/**
 * The authorization server's calls (service token). `identifyService` must run before the rate
 * limiter on /oauth2/* (src/app.ts).
 */
export const oauth2Router = createRouter()
  .openapi(routes.authenticateClientRoute, handlers.authenticateClientHandler)
  .openapi(routes.recordConsentRoute, handlers.recordConsentHandler)
  .openapi(routes.tokenStatusRoute, handlers.tokenStatusHandler);
