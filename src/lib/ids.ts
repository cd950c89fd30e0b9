/**
 * A client or user id: a GUID in 8-4-4-4-12 hex form, either case. Ids are stored lower-case;
 * DocSpace writes user ids in either case, so every comparison lower-cases first.
 */
export const GUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
