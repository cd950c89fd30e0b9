import { createRouter } from "../../lib/router";
import * as handlers from "./clients.handlers";
import * as routes from "./clients.routes";

/** The client collection: `/clients`, `/clients/info`, `/clients/tenant` (SPEC §4.1, §4.8, §4.10, §4.14, §4.15). */
export const clientsRouter = createRouter()
  .openapi(routes.createClientRoute, handlers.createClientHandler)
  .openapi(routes.getClientsRoute, handlers.getClientsHandler)
  .openapi(routes.deleteClientsRoute, handlers.deleteClientsHandler)
  .openapi(routes.getClientsInfoRoute, handlers.getClientsInfoHandler)
  .openapi(routes.deleteTenantClientsRoute, handlers.deleteTenantClientsHandler);
