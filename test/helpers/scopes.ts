/** DocSpace's nine scopes as migrations/0001_seed_scopes.sql seeds them (SPEC §8), sorted by name. */
export const SEEDED_SCOPES = [
  { name: "accounts.self:read", group: "profiles", type: "read" },
  { name: "accounts.self:write", group: "profiles", type: "write" },
  { name: "accounts:read", group: "accounts", type: "read" },
  { name: "accounts:write", group: "accounts", type: "write" },
  { name: "files:read", group: "files", type: "read" },
  { name: "files:write", group: "files", type: "write" },
  { name: "openid", group: "openid", type: "openid" },
  { name: "rooms:read", group: "rooms", type: "read" },
  { name: "rooms:write", group: "rooms", type: "write" },
];

/** The same scopes in the order GET /scopes lists them: openid first, then by name. */
export const LISTED_SCOPES = [
  ...SEEDED_SCOPES.filter((s) => s.name === "openid"),
  ...SEEDED_SCOPES.filter((s) => s.name !== "openid"),
];
