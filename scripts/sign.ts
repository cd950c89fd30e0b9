// Prints a valid x-signature for the dev machine key in .dev.vars, for curl:
//   npm run sign -- [--admin|--user|--guest] [--tenant N] [--user-id GUID] [--ttl S]
import { parseArgs } from "node:util";
import { deriveSignatureKeyBytes } from "../src/auth/machine-key.ts";
import { signJws } from "../src/auth/sign-token.ts";
import { readDevVar } from "./dev-vars.ts";

const DEFAULT_USER_ID = "0b4e9b1c-3f6a-4d5e-9c2b-7a1d2e3f4a5b";

const { values } = parseArgs({
  options: {
    admin: { type: "boolean" },
    user: { type: "boolean" },
    guest: { type: "boolean" },
    tenant: { type: "string", default: "1" },
    "user-id": { type: "string", default: DEFAULT_USER_ID },
    ttl: { type: "string", default: "300" },
  },
});

const role = values.guest ? "guest" : values.user ? "user" : "admin";
const ttl = Number(values.ttl);
if (!Number.isInteger(ttl) || ttl <= 0) throw new Error("--ttl must be a positive number of seconds");
const now = Math.floor(Date.now() / 1000);
// Every claim a string, as the DocSpace backend writes them.
const claims = {
  sub: values["user-id"],
  user_id: values["user-id"],
  user_name: `Dev ${role}`,
  user_email: `${role}@example.com`,
  tenant_id: String(values.tenant),
  tenant_url: "http://localhost:8092",
  is_admin: String(role === "admin"),
  is_guest: String(role === "guest"),
  is_public: String(role !== "guest"),
  iat: now,
  exp: now + ttl,
};
console.log(await signJws(claims, deriveSignatureKeyBytes(readDevVar("DOCSPACE_MACHINE_KEY"))));
