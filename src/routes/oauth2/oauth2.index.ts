import { createRouter } from "../../lib/router";
import * as handlers from "./oauth2.handlers";
import * as routes from "./oauth2.routes";

/**
 * The token lifecycle: the authorization server's routes (service token) and revoke-all-tokens
 * (x-signature). `identifyService` must run before the rate limiter on /oauth2/* (src/app.ts).
 */
export const oauth2Router = createRouter()
  .openapi(routes.authenticateClientRoute, handlers.authenticateClientHandler)
  .openapi(routes.recordConsentRoute, handlers.recordConsentHandler)
  .openapi(routes.tokenStatusRoute, handlers.tokenStatusHandler)
  .openapi(routes.revokeClientTokensRoute, handlers.revokeClientTokensHandler);

oauth2Router.openAPIRegistry.registerComponent("securitySchemes", "serviceBearer", routes.SERVICE_BEARER_SCHEME);
