/**
 * The command line of `npm run sign` (scripts/sign.ts): parsing, usage text and the claims it
 * signs. Pure and free of imports, so the unit tests run it inside workerd (test/unit/sign-args.test.ts).
 */

/** The role a dev signature is minted for. */
export type DevRole = "admin" | "user" | "guest";

const ROLES: readonly DevRole[] = ["admin", "user", "guest"];

/** DocSpace mints every x-signature for 5 minutes; so does the script unless told otherwise. */
export const DEFAULT_SIGN_TTL_SECONDS = 300;

/**
 * The gateway's default `MAX_SIGNATURE_TTL_SECONDS` (src/auth/signature-policy.ts), repeated because
 * this module imports nothing; a unit test keeps the two equal.
 */
export const GATEWAY_DEFAULT_MAX_TTL_SECONDS = 3600;

/**
 * One fixed user id per role, so a signature for `--user` does not act as the admin and see the
 * admin's clients. The admin's is the user of the DocSpace token in shared/vectors/signature.md.
 */
export const DEFAULT_USER_IDS: Readonly<Record<DevRole, string>> = Object.freeze({
  admin: "0b4e9b1c-3f6a-4d5e-9c2b-7a1d2e3f4a5b",
  user: "1c5f0ac2-4b7d-4e8a-9f3b-8b2e3f4a5b6c",
  guest: "2d6a1bd3-5c8e-4f9b-a04c-9c3f4a5b6c7d",
});

/** The tenant URL of dev signatures: `npm start`'s origin, which /oauth2/authorize compares (AS §2). */
export const DEFAULT_TENANT_URL = "http://localhost:8092";

/** The cookie the gateway reads the x-signature from (src/auth/x-signature.ts `extractSignature`). */
export const SIGNATURE_COOKIE = "x-signature";

/** What to sign. */
export type SignOptions = {
  role: DevRole;
  tenantId: number;
  userId: string;
  /** Whether `userId` is the role's default (not given with `--user-id`). */
  defaultUserId: boolean;
  ttlSeconds: number;
  /** `tenant_url`: the origin the signature may authorize on (AS §2). */
  tenantUrl: string;
  /** Print a browser cookie (`--cookie`) instead of the bare token. */
  cookie: boolean;
};

/** The outcome of parsing: print the usage, refuse with one line, or sign (with warnings for stderr). */
export type SignArgs =
  | { kind: "help" }
  | { kind: "error"; message: string }
  | { kind: "sign"; options: SignOptions; warnings: string[] };

/** The text of `npm run sign -- --help`. */
export const SIGN_USAGE = `Usage: npm run sign -- [--admin | --user | --guest] [--tenant N] [--user-id GUID] [--ttl SECONDS]
                      [--tenant-url URL] [--cookie]

Prints an x-signature signed with DOCSPACE_MACHINE_KEY from .dev.vars. The token alone goes to
stdout (who it is for goes to stderr), so it can be captured:
  SIG=$(npm run -s sign -- --user)
  curl -H "x-signature: $SIG" http://localhost:8092/api/2.0/clients

Options:
  --admin          sign as a DocSpace admin (the default role)
  --user           sign as a user
  --guest          sign as a guest
                   At most one role. Each has its own fixed user id:
                     admin ${DEFAULT_USER_IDS.admin}
                     user  ${DEFAULT_USER_IDS.user}
                     guest ${DEFAULT_USER_IDS.guest}
  --tenant N       tenant id, a whole number >= 1 (default 1)
  --user-id GUID   sign as this user id instead of the role's own
  --ttl SECONDS    lifetime in seconds (default ${DEFAULT_SIGN_TTL_SECONDS}, as DocSpace mints them); the gateway
                   refuses more than MAX_SIGNATURE_TTL_SECONDS (default ${GATEWAY_DEFAULT_MAX_TTL_SECONDS})
  --tenant-url URL the signature's tenant_url (default ${DEFAULT_TENANT_URL}); /oauth2/authorize accepts a
                   signature only on that origin
  --cookie         print the x-signature as a browser cookie instead of the bare token: a Set-Cookie
                   value, then a document.cookie line to paste into the browser's devtools console on
                   the gateway's page (used to sign in to /oauth2/authorize locally; see GET /login)
  -h, --help       print this text and exit
`;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const VALUE_OPTIONS = ["tenant", "user-id", "ttl", "tenant-url"] as const;
type ValueOption = (typeof VALUE_OPTIONS)[number];

const isRole = (name: string): name is DevRole => (ROLES as readonly string[]).includes(name);
const isValueOption = (name: string): name is ValueOption => (VALUE_OPTIONS as readonly string[]).includes(name);

/** A whole number from `min` to 999,999,999, or undefined. */
function wholeNumber(text: string, min: number): number | undefined {
  if (!/^\d{1,9}$/.test(text)) return undefined;
  const n = Number(text);
  return n >= min ? n : undefined;
}

/**
 * Parses the arguments after `npm run sign --`. `--name value` and `--name=value` are both accepted;
 * `-h`/`--help` anywhere wins. Anything unknown, repeated or out of range is an error whose message
 * fits on one line.
 */
export function parseSignArgs(argv: readonly string[]): SignArgs {
  if (argv.includes("--help") || argv.includes("-h")) return { kind: "help" };
  const error = (message: string): SignArgs => ({ kind: "error", message });
  let role: DevRole | undefined;
  let cookie = false;
  const values: Partial<Record<ValueOption, string>> = {};

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (!arg.startsWith("--") || arg === "--") {
      return error(arg.startsWith("-") ? `unknown option ${arg}` : `unexpected argument ${JSON.stringify(arg)}`);
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const inline = eq === -1 ? undefined : arg.slice(eq + 1);
    if (isRole(name)) {
      if (inline !== undefined) return error(`--${name} takes no value`);
      if (role !== undefined && role !== name) return error(`choose one role, not both --${role} and --${name}`);
      role = name;
    } else if (name === "cookie") {
      if (inline !== undefined) return error("--cookie takes no value");
      cookie = true;
    } else if (isValueOption(name)) {
      if (values[name] !== undefined) return error(`--${name} is given twice`);
      let value = inline;
      if (value === undefined) {
        const next = argv[i + 1];
        if (next === undefined || next.startsWith("--")) return error(`--${name} needs a value`);
        value = next;
        i += 1;
      }
      values[name] = value;
    } else {
      return error(`unknown option --${name}`);
    }
  }

  const tenantId = wholeNumber(values.tenant ?? "1", 1);
  if (tenantId === undefined)
    return error(`--tenant must be a whole number >= 1, not ${JSON.stringify(values.tenant)}`);
  const ttlSeconds = wholeNumber(values.ttl ?? String(DEFAULT_SIGN_TTL_SECONDS), 1);
  if (ttlSeconds === undefined) {
    return error(`--ttl must be a whole number of seconds >= 1, not ${JSON.stringify(values.ttl)}`);
  }
  const userId = values["user-id"];
  if (userId !== undefined && !GUID.test(userId)) {
    return error(`--user-id must be a GUID like ${DEFAULT_USER_IDS.user}, not ${JSON.stringify(userId)}`);
  }

  const tenantUrl = values["tenant-url"] ?? DEFAULT_TENANT_URL;
  if (!/^https?:\/\/[^/?#\s]+$/.test(tenantUrl)) {
    return error(`--tenant-url must be an origin like ${DEFAULT_TENANT_URL}, not ${JSON.stringify(tenantUrl)}`);
  }

  const chosenRole = role ?? "admin";
  const warnings =
    ttlSeconds > GATEWAY_DEFAULT_MAX_TTL_SECONDS
      ? [
          `--ttl ${ttlSeconds} is over the gateway's default MAX_SIGNATURE_TTL_SECONDS (${GATEWAY_DEFAULT_MAX_TTL_SECONDS}); ` +
            "it refuses this token unless that var is raised",
        ]
      : [];
  return {
    kind: "sign",
    options: {
      role: chosenRole,
      tenantId,
      userId: userId ?? DEFAULT_USER_IDS[chosenRole],
      defaultUserId: userId === undefined,
      ttlSeconds,
      tenantUrl,
      cookie,
    },
    warnings,
  };
}

/** The claims of a dev signature issued at `nowSeconds`: every value a string, as the DocSpace backend writes them. */
export function devClaims(options: SignOptions, nowSeconds: number): Record<string, unknown> {
  const name = options.role.charAt(0).toUpperCase() + options.role.slice(1);
  return {
    sub: options.userId,
    user_id: options.userId,
    user_name: `Dev ${name}`,
    user_email: `${options.role}@example.com`,
    tenant_id: String(options.tenantId),
    tenant_url: options.tenantUrl,
    is_admin: String(options.role === "admin"),
    is_guest: String(options.role === "guest"),
    is_public: String(options.role !== "guest"),
    iat: nowSeconds,
    exp: nowSeconds + options.ttlSeconds,
  };
}

/** The line for stderr saying whom a signature is for and until when. */
export function describeSignature(options: SignOptions, nowSeconds: number): string {
  const id = options.defaultUserId ? `${options.userId} (the ${options.role} default)` : options.userId;
  const until = new Date((nowSeconds + options.ttlSeconds) * 1000).toISOString();
  return `x-signature for ${options.role} ${id} in tenant ${options.tenantId}, valid ${options.ttlSeconds} s until ${until}`;
}

/**
 * The x-signature as a browser cookie (`--cookie`): a `Set-Cookie` value and a `document.cookie`
 * line for the devtools console, both living as long as the token. Not HttpOnly (script sets it);
 * SameSite=Lax so it rides along the top-level navigation to /oauth2/authorize.
 */
export function signatureCookie(token: string, ttlSeconds: number): { setCookie: string; documentCookie: string } {
  const attributes = `Path=/; Max-Age=${ttlSeconds}; SameSite=Lax`;
  return {
    setCookie: `${SIGNATURE_COOKIE}=${token}; ${attributes}`,
    documentCookie: `document.cookie = "${SIGNATURE_COOKIE}=${token}; ${attributes}";`,
  };
}
