import type { OpenApiDocument, SchemaObject } from "./openapi-types";
import { HTTP_METHODS } from "./openapi-types";

/**
 * Derives request and response examples from the schemas themselves, so every operation of the
 * document shows one even when its contract declares none (contracts are written by many hands;
 * this keeps the rule "every JSON body has an example" true by construction). Field examples
 * come from the schema (`example`, `examples`, `default`, `enum`), else from a field of the same
 * name elsewhere in the document (a response's `redirect_uris` borrows the request's), else a
 * placeholder of the right type. Tests check that every example validates against its schema.
 */

const MAX_DEPTH = 8;
const PLACEHOLDER_DATE = "2026-11-28T12:00:00.000Z";
const PLACEHOLDER_UUID = "5c1e2a8e-7a3f-4a53-9e4b-1f6f1b0f5d2a";
/** zod's `.int()` adds ±(2^53 − 1) bounds that make useless examples. */
const SAFE_BOUND = 2 ** 53 - 1;

type Context = { document: OpenApiDocument; byFieldName: Map<string, unknown> };

const isObject = (value: unknown): value is SchemaObject =>
  typeof value === "object" && value !== null && !Array.isArray(value);

function resolve(schema: SchemaObject, document: OpenApiDocument): SchemaObject {
  let current = schema;
  for (let hops = 0; typeof current.$ref === "string" && hops < MAX_DEPTH; hops += 1) {
    const name = current.$ref.replace("#/components/schemas/", "");
    const target = document.components?.schemas?.[name];
    if (!target) break;
    current = target;
  }
  return current;
}

function explicitExample(schema: SchemaObject): { value: unknown } | undefined {
  if (schema.example !== undefined) return { value: schema.example };
  if (Array.isArray(schema.examples) && schema.examples.length > 0) return { value: schema.examples[0] };
  if (schema.default !== undefined) return { value: schema.default };
  if (schema.const !== undefined) return { value: schema.const };
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return { value: schema.enum[0] };
  return undefined;
}

function typesOf(schema: SchemaObject): string[] {
  if (Array.isArray(schema.type)) return schema.type.filter((t): t is string => typeof t === "string");
  if (typeof schema.type === "string") return [schema.type];
  if (isObject(schema.properties)) return ["object"];
  if (schema.items !== undefined) return ["array"];
  return [];
}

function jsonType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

function fitsType(value: unknown, schema: SchemaObject): boolean {
  const types = typesOf(schema);
  if (types.length === 0) return true;
  const actual = jsonType(value);
  return types.includes(actual) || (actual === "integer" && types.includes("number"));
}

function numberExample(schema: SchemaObject): number {
  const min = typeof schema.minimum === "number" && schema.minimum > -SAFE_BOUND ? schema.minimum : undefined;
  const exclusiveMin = typeof schema.exclusiveMinimum === "number" ? schema.exclusiveMinimum + 1 : undefined;
  const max = typeof schema.maximum === "number" && schema.maximum < SAFE_BOUND ? schema.maximum : undefined;
  const value = min ?? exclusiveMin ?? 1;
  return max !== undefined && value > max ? max : value;
}

function stringExample(schema: SchemaObject, fieldName: string | undefined): string {
  if (schema.format === "date-time") return PLACEHOLDER_DATE;
  // DocSpace ids (clients, users: `client_id`, `created_by`, `modified_by`) are GUIDs.
  if (schema.format === "uuid" || /(_id|_by)$/.test(fieldName ?? "")) return PLACEHOLDER_UUID;
  if (schema.format === "uri" || schema.format === "url") return "https://example.com";
  if (schema.format === "email") return "user@example.com";
  return "string";
}

function exampleFor(raw: SchemaObject, ctx: Context, fieldName: string | undefined, depth: number): unknown {
  if (depth > MAX_DEPTH) return null;
  const schema = resolve(raw, ctx.document);
  const own = explicitExample(raw) ?? explicitExample(schema);
  if (own) return own.value;
  if (fieldName !== undefined && ctx.byFieldName.has(fieldName)) {
    const borrowed = ctx.byFieldName.get(fieldName);
    if (fitsType(borrowed, schema)) return borrowed;
  }
  for (const keyword of ["oneOf", "anyOf"] as const) {
    const branches = schema[keyword];
    if (Array.isArray(branches)) {
      const branch = branches.filter(isObject).find((b) => !typesOf(resolve(b, ctx.document)).includes("null"));
      return branch ? exampleFor(branch, ctx, fieldName, depth + 1) : null;
    }
  }
  if (Array.isArray(schema.allOf)) {
    return Object.assign(
      {},
      ...schema.allOf.filter(isObject).map((part) => exampleFor(part, ctx, fieldName, depth + 1)),
    );
  }
  const type = typesOf(schema).find((t) => t !== "null") ?? (typesOf(schema).includes("null") ? "null" : "object");
  switch (type) {
    case "object":
      return objectExample(schema, ctx, depth);
    case "array":
      return isObject(schema.items) ? [exampleFor(schema.items, ctx, undefined, depth + 1)] : [];
    case "string":
      return stringExample(schema, fieldName);
    case "integer":
    case "number":
      return numberExample(schema);
    case "boolean":
      // Flags such as `enabled` and `is_public` are true on a freshly made client.
      return true;
    default:
      return null;
  }
}

/** Required fields always; optional ones only when they carry an example of their own. */
function objectExample(schema: SchemaObject, ctx: Context, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const required = new Set(Array.isArray(schema.required) ? schema.required : []);
  const properties = isObject(schema.properties) ? schema.properties : {};
  for (const [name, property] of Object.entries(properties)) {
    if (!isObject(property)) continue;
    const include = required.has(name) || explicitExample(resolve(property, ctx.document)) || explicitExample(property);
    if (include) out[name] = exampleFor(property, ctx, name, depth + 1);
  }
  return out;
}

function indexFieldExamples(document: OpenApiDocument): Map<string, unknown> {
  const byFieldName = new Map<string, unknown>();
  for (const schema of Object.values(document.components?.schemas ?? {})) {
    if (!isObject(schema.properties)) continue;
    for (const [name, property] of Object.entries(schema.properties)) {
      const example = isObject(property) ? explicitExample(property) : undefined;
      if (example && !byFieldName.has(name)) byFieldName.set(name, example.value);
    }
  }
  return byFieldName;
}

const isJsonMediaType = (mediaType: string) => /^application\/([\w.-]+\+)?json$/i.test(mediaType);

/** Fills `example` on every JSON request body and response that has a schema and no example. */
export function addMissingExamples(document: OpenApiDocument): void {
  const ctx: Context = { document, byFieldName: indexFieldExamples(document) };
  for (const pathItem of Object.values(document.paths)) {
    for (const method of HTTP_METHODS) {
      const operation = pathItem[method];
      if (!operation) continue;
      const bodies = [
        operation.requestBody?.content ?? {},
        ...Object.values(operation.responses).map((r) => r.content ?? {}),
      ];
      for (const content of bodies) {
        for (const [mediaType, media] of Object.entries(content)) {
          if (!isJsonMediaType(mediaType) || !media.schema) continue;
          if (media.example !== undefined || media.examples !== undefined) continue;
          media.example = exampleFor(media.schema, ctx, undefined, 0);
        }
      }
    }
  }
}
