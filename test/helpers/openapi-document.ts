import { exports } from "cloudflare:workers";
import { Validator } from "@seriousme/openapi-schema-validator";
import openApi31MetaSchema from "@seriousme/openapi-schema-validator/schemas/v3.1/schema.json";
import Ajv2020, { type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import {
  HTTP_METHODS,
  type HttpMethod,
  type OpenApiDocument,
  type OperationObject,
  type ResponseObject,
  type SchemaObject,
} from "../../src/lib/openapi-types";

/**
 * Reading and checking the published OpenAPI document inside workerd: fetch it from the worker,
 * list its operations, and validate real responses (status, media type, body, headers) against
 * what it documents. Used by test/integration/openapi.test.ts and test/contract/*.
 */

export const DOCUMENT_URL = "http://gateway.test/api/2.0/openapi.json";

/** The document as the worker serves it. */
export async function fetchDocument(): Promise<OpenApiDocument> {
  const response = await exports.default.fetch(DOCUMENT_URL);
  if (response.status !== 200) throw new Error(`openapi.json answered ${response.status}`);
  return (await response.json()) as OpenApiDocument;
}

export type Operation = { method: HttpMethod; path: string; operation: OperationObject; id: string };

/** Every operation of the document, named by operationId (or "METHOD path" when it has none). */
export function operationsOf(document: OpenApiDocument): Operation[] {
  const out: Operation[] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of HTTP_METHODS) {
      const operation = item[method];
      if (operation) out.push({ method, path, operation, id: operation.operationId ?? `${method} ${path}` });
    }
  }
  return out;
}

/**
 * The package's own Validator, handed the OpenAPI 3.1 meta-schema directly: in workerd there is
 * no file system for it to read the schema from. Compiled exactly as the package does (Ajv for
 * draft 2020-12, strict off, ajv-formats, the 3.1 `media-range` format).
 */
class WorkerdOpenApiValidator extends Validator {
  private compiled: ValidateFunction | undefined;

  getAjvValidator(version: string): ValidateFunction {
    if (version !== "3.1") throw new Error(`only OpenAPI 3.1 is loaded in workerd, not ${version}`);
    if (!this.compiled) {
      const ajv = new Ajv2020({ strict: false });
      addFormats(ajv);
      ajv.addFormat("media-range", true);
      this.compiled = ajv.compile(openApi31MetaSchema);
    }
    return this.compiled;
  }
}

/** Validates a document with @seriousme/openapi-schema-validator (schema and $ref checks). */
export async function validateOpenApiDocument(document: OpenApiDocument) {
  const validator = new WorkerdOpenApiValidator();
  const result = await validator.validate(structuredClone(document) as unknown as Record<string, unknown>);
  return { ...result, version: validator.version };
}

const DOCUMENT_ID = "https://gateway.test/api/2.0/openapi.json";

/** Rewrites `#/components/...` refs so a schema taken out of the document still resolves. */
function anchorRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(anchorRefs);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => [
      key,
      key === "$ref" && typeof inner === "string" && inner.startsWith("#/")
        ? `${DOCUMENT_ID}${inner}`
        : anchorRefs(inner),
    ]),
  );
}

const formatErrors = (errors: ErrorObject[] | null | undefined) =>
  (errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? e.keyword}`).join("; ");

/** JSON Schema 2020-12 checks against the document's schemas (OpenAPI 3.1 schemas are 2020-12). */
export class SchemaChecker {
  private readonly ajv: Ajv2020;
  private readonly headerAjv: Ajv2020;
  private readonly cache = new Map<string, ValidateFunction>();

  constructor(readonly document: OpenApiDocument) {
    // OpenAPI's `example` keyword and friends are not JSON Schema: strict mode off.
    this.ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(this.ajv);
    this.ajv.addSchema({ $id: DOCUMENT_ID, components: anchorRefs(document.components ?? {}) });
    // Header values are strings on the wire; `Retry-After: 42` must satisfy `type: integer`.
    this.headerAjv = new Ajv2020({ strict: false, coerceTypes: true });
    addFormats(this.headerAjv);
  }

  /** Undefined when `value` satisfies `schema`, else a readable list of violations. */
  check(schema: SchemaObject, value: unknown): string | undefined {
    const key = JSON.stringify(schema);
    let validate = this.cache.get(key);
    if (!validate) {
      validate = this.ajv.compile(anchorRefs(schema) as SchemaObject);
      this.cache.set(key, validate);
    }
    return validate(value) ? undefined : formatErrors(validate.errors);
  }

  /** Resolves a `#/components/...` reference inside the document. */
  resolve<T>(value: T | { $ref: string }): T {
    let current: unknown = value;
    for (let hops = 0; hops < 8; hops += 1) {
      const ref = (current as { $ref?: unknown } | null)?.$ref;
      if (typeof ref !== "string") break;
      current = ref
        .slice(2)
        .split("/")
        .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], this.document);
    }
    return current as T;
  }

  /**
   * Everything wrong with `response` as an answer of `operation`: an undocumented status, an
   * undocumented media type, a body that breaks the schema, a required header missing or a
   * header value that breaks its schema. Empty when the response matches the contract.
   */
  async responseViolations(operation: OperationObject, response: Response): Promise<string[]> {
    const violations: string[] = [];
    const documented = operation.responses[String(response.status)] ?? operation.responses.default;
    if (!documented) return [`status ${response.status} is not documented`];
    const spec = this.resolve<ResponseObject>(documented);
    for (const [name, raw] of Object.entries(spec.headers ?? {})) {
      const header = this.resolve(raw);
      const value = response.headers.get(name);
      if (value === null) {
        if (header.required) violations.push(`required header ${name} is missing`);
        continue;
      }
      if (header.schema) {
        const validate = this.headerAjv.compile(header.schema);
        if (!validate(value)) violations.push(`header ${name}: ${formatErrors(validate.errors)} (${value})`);
      }
    }
    const text = await response.text();
    const mediaType = (response.headers.get("content-type") ?? "").split(";")[0]?.trim() ?? "";
    const content = spec.content ?? {};
    if (Object.keys(content).length === 0) {
      if (text !== "") violations.push(`status ${response.status} documents no body but got ${mediaType}`);
      return violations;
    }
    const media = content[mediaType];
    if (!media) return [...violations, `media type ${mediaType || "(none)"} is not documented for ${response.status}`];
    if (!media.schema) return violations;
    let body: unknown = text;
    if (/json$/.test(mediaType)) {
      try {
        body = JSON.parse(text);
      } catch {
        return [...violations, `body is not JSON: ${text.slice(0, 80)}`];
      }
    }
    const problem = this.check(media.schema, body);
    if (problem) violations.push(`body (${response.status}): ${problem}`);
    return violations;
  }
}
