import { createRouter } from "../../lib/router";
import * as handlers from "./metadata.handlers";
import * as routes from "./metadata.routes";

/**
 * The authorization server's metadata (AS §1, §2) at its four discovery paths, mounted at the root,
 * not under the API base.
 */
export const metadataRouter = createRouter()
  .openapi(routes.getOpenIdConfigurationRoute, handlers.getMetadataHandler)
  .openapi(routes.getOpenIdConfigurationAtRootRoute, handlers.getMetadataHandler)
  .openapi(routes.getAuthorizationServerMetadataRoute, handlers.getMetadataHandler)
  .openapi(routes.getAuthorizationServerMetadataAtRootRoute, handlers.getMetadataHandler);
