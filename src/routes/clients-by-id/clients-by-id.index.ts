import { createRouter } from "../../lib/router";
import * as handlers from "./clients-by-id.handlers";
import * as routes from "./clients-by-id.routes";

/** One client: `/clients/{clientId}` and below. Mounted after the routers with literal `/clients/*` paths. */
export const clientsByIdRouter = createRouter()
  .openapi(routes.getClientRoute, handlers.getClientHandler)
  .openapi(routes.updateClientRoute, handlers.updateClientHandler)
  .openapi(routes.deleteClientRoute, handlers.deleteClientHandler)
  .openapi(routes.regenerateSecretRoute, handlers.regenerateSecretHandler)
  .openapi(routes.changeActivationRoute, handlers.changeActivationHandler)
  .openapi(routes.revokeUserClientRoute, handlers.revokeUserClientHandler)
  .openapi(routes.revokeClientTokensRoute, handlers.revokeClientTokensHandler)
  .openapi(routes.getClientInfoRoute, handlers.getClientInfoHandler)
  .openapi(routes.getPublicClientInfoRoute, handlers.getPublicClientInfoHandler);
