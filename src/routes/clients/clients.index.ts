import { createRouter } from "../../lib/router";
import * as handlers from "./clients.handlers";
import * as routes from "./clients.routes";

/** The six client-management operations of DocSpace's OAuth20ClientManagementApi. */
export const clientsRouter = createRouter()
  .openapi(routes.createClientRoute, handlers.createClientHandler)
  .openapi(routes.updateClientRoute, handlers.updateClientHandler)
  .openapi(routes.deleteClientRoute, handlers.deleteClientHandler)
  .openapi(routes.regenerateSecretRoute, handlers.regenerateSecretHandler)
  .openapi(routes.changeActivationRoute, handlers.changeActivationHandler)
  .openapi(routes.revokeUserClientRoute, handlers.revokeUserClientHandler);
