/** Where the API is mounted (DocSpace's base path). Every path and problem type is built from it. */
export const API_BASE = "/api/2.0";
