/**
 * The subset of OpenAPI 3.1 the gateway reads and writes when it finishes the generated
 * document (lib/openapi.ts) and when tests walk it. Loose on purpose: schemas are plain JSON
 * Schema 2020-12 objects.
 */

export type SchemaObject = { [keyword: string]: unknown };

export type MediaTypeObject = { schema?: SchemaObject; example?: unknown; examples?: Record<string, unknown> };

export type HeaderObject = { $ref?: string; description?: string; required?: boolean; schema?: SchemaObject };

export type ResponseObject = {
  description: string;
  headers?: Record<string, HeaderObject>;
  content?: Record<string, MediaTypeObject>;
};

export type ParameterObject = {
  name: string;
  in: "path" | "query" | "header" | "cookie";
  required?: boolean;
  schema?: SchemaObject;
  example?: unknown;
};

export type OperationObject = {
  operationId?: string;
  summary?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  parameters?: ParameterObject[];
  requestBody?: { required?: boolean; content?: Record<string, MediaTypeObject> };
  responses: Record<string, ResponseObject>;
  /** Set by a contract whose calls skip the rate limiter (why, in words); see lib/openapi-responses.ts. */
  "x-rate-limit-exempt"?: string;
  /** Set by a contract that is never behind the rate limiter (why, in words): no 429, no quota headers. */
  "x-not-rate-limited"?: string;
};

export const HTTP_METHODS = ["get", "put", "post", "delete", "patch", "options", "head", "trace"] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

export type PathItemObject = Partial<Record<HttpMethod, OperationObject>>;

export type OpenApiDocument = {
  openapi: string;
  info: { title: string; version: string; description?: string };
  servers?: { url: string; description?: string }[];
  paths: Record<string, PathItemObject>;
  components?: {
    schemas?: Record<string, SchemaObject>;
    headers?: Record<string, unknown>;
    securitySchemes?: Record<string, unknown>;
    [other: string]: unknown;
  };
  tags?: { name: string; description?: string }[];
};
