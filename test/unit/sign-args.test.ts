import { describe, it } from "vitest";
import {
  DEFAULT_SIGN_TTL_SECONDS,
  DEFAULT_TENANT_URL,
  DEFAULT_USER_IDS,
  describeSignature,
  devClaims,
  GATEWAY_DEFAULT_MAX_TTL_SECONDS,
  parseSignArgs,
  SIGN_USAGE,
  type SignArgs,
  signatureCookie,
} from "../../scripts/sign-args";
import { DEFAULT_MAX_SIGNATURE_TTL_SECONDS, DEFAULT_SIGNATURE_POLICY } from "../../src/auth/signature-policy";
import { extractSignature, principalFromClaims, verifySignature } from "../../src/auth/x-signature";
import { GUID_PATTERN } from "../../src/lib/ids";
import { DEV_TENANT_URL } from "../../src/lib/sign-in";
import { signClaims, TEST_MACHINE_KEY } from "../helpers/signature";

// `npm run sign` (issue 12 item 12): the pure command-line parser of scripts/sign-args.ts — usage,
// one-line errors, one role at most, a fixed user id per role — and that what it signs is a token the
// gateway accepts, with the right role, under the default lifetime cap.

const NOW_S = Date.UTC(2026, 10, 28, 12, 0, 0) / 1000;

function signed(args: string[]) {
  const result = parseSignArgs(args);
  if (result.kind !== "sign") throw new Error(`expected to sign, got ${JSON.stringify(result)}`);
  return result;
}

describe("help", () => {
  it.for([["--help"], ["-h"], ["--user", "--help"], ["--bogus", "-h"]])("%j prints the usage", (args, { expect }) => {
    expect(parseSignArgs(args)).toEqual({ kind: "help" });
  });

  it("the usage names every option, the default lifetime and the gateway's cap", ({ expect }) => {
    for (const option of [
      "--admin",
      "--user",
      "--guest",
      "--tenant",
      "--user-id",
      "--ttl",
      "--tenant-url",
      "--cookie",
      "--help",
    ]) {
      expect(SIGN_USAGE).toContain(option);
    }
    expect(SIGN_USAGE).toContain(`default ${DEFAULT_SIGN_TTL_SECONDS}`);
    expect(SIGN_USAGE).toContain(`MAX_SIGNATURE_TTL_SECONDS (default ${DEFAULT_MAX_SIGNATURE_TTL_SECONDS})`);
    for (const id of Object.values(DEFAULT_USER_IDS)) expect(SIGN_USAGE).toContain(id);
  });
});

describe("defaults", () => {
  it("no arguments: the admin of tenant 1 with the admin's id, for DocSpace's 5 minutes", ({ expect }) => {
    expect(parseSignArgs([])).toEqual({
      kind: "sign",
      options: {
        role: "admin",
        tenantId: 1,
        userId: DEFAULT_USER_IDS.admin,
        defaultUserId: true,
        ttlSeconds: 300,
        tenantUrl: "http://localhost:8092",
        cookie: false,
      },
      warnings: [],
    });
  });

  it("the default lifetime stays within the gateway's default cap, which this module repeats", ({ expect }) => {
    expect(GATEWAY_DEFAULT_MAX_TTL_SECONDS).toBe(DEFAULT_MAX_SIGNATURE_TTL_SECONDS);
    expect(DEFAULT_SIGN_TTL_SECONDS).toBeLessThanOrEqual(DEFAULT_MAX_SIGNATURE_TTL_SECONDS);
  });

  it("each role has its own stable GUID, so a user or guest never acts as the admin", ({ expect }) => {
    const ids = (["admin", "user", "guest"] as const).map((role) => signed([`--${role}`]).options.userId);
    expect(ids).toEqual([DEFAULT_USER_IDS.admin, DEFAULT_USER_IDS.user, DEFAULT_USER_IDS.guest]);
    expect(new Set(ids).size).toBe(3);
    for (const id of ids) expect(id).toMatch(GUID_PATTERN);
    expect(signed(["--user"])).toEqual(signed(["--user"]));
  });

  it("--user-id replaces the role's id; the stderr line says which id is a default", ({ expect }) => {
    const own = "3e7b2ce4-6d9f-4a0c-b15d-ad4a5b6c7d8e";
    const custom = signed(["--user", "--user-id", own]).options;
    expect(custom).toMatchObject({ role: "user", userId: own, defaultUserId: false });
    expect(describeSignature(custom, NOW_S)).toBe(
      `x-signature for user ${own} in tenant 1, valid 300 s until 2026-11-28T12:05:00.000Z`,
    );
    expect(describeSignature(signed(["--guest"]).options, NOW_S)).toContain(
      `guest ${DEFAULT_USER_IDS.guest} (the guest default)`,
    );
  });
});

describe("values", () => {
  it("accepts --name value and --name=value", ({ expect }) => {
    const spaced = signed(["--tenant", "7", "--ttl", "60", "--guest"]).options;
    const joined = signed(["--tenant=7", "--ttl=60", "--guest"]).options;
    expect(spaced).toEqual(joined);
    expect(spaced).toMatchObject({ role: "guest", tenantId: 7, ttlSeconds: 60 });
  });

  it("a lifetime over the gateway's default cap is signed, with a warning for stderr", ({ expect }) => {
    expect(signed(["--ttl", "3600"]).warnings).toEqual([]);
    const long = signed(["--ttl", "7200"]);
    expect(long.options.ttlSeconds).toBe(7200);
    expect(long.warnings).toEqual([expect.stringContaining("MAX_SIGNATURE_TTL_SECONDS (3600)")]);
  });

  it("the same role twice is harmless", ({ expect }) => {
    expect(signed(["--user", "--user"]).options.role).toBe("user");
  });
});

describe("errors: one line each, nothing signed", () => {
  it.for([
    [["--bogus"], "unknown option --bogus"],
    [["-x"], "unknown option -x"],
    [["--"], "unknown option --"],
    [["admin"], 'unexpected argument "admin"'],
    [["--user", "--guest"], "choose one role, not both --user and --guest"],
    [["--admin", "--user"], "choose one role, not both --admin and --user"],
    [["--guest", "--tenant", "2", "--admin"], "choose one role, not both --guest and --admin"],
    [["--admin=true"], "--admin takes no value"],
    [["--tenant"], "--tenant needs a value"],
    [["--tenant", "--user"], "--tenant needs a value"],
    [["--tenant", "0"], '--tenant must be a whole number >= 1, not "0"'],
    [["--tenant=abc"], '--tenant must be a whole number >= 1, not "abc"'],
    [["--tenant", "1.5"], '--tenant must be a whole number >= 1, not "1.5"'],
    [["--tenant", "1", "--tenant", "2"], "--tenant is given twice"],
    [["--ttl", "-5"], '--ttl must be a whole number of seconds >= 1, not "-5"'],
    [["--ttl", "0"], '--ttl must be a whole number of seconds >= 1, not "0"'],
    [["--ttl", "5m"], '--ttl must be a whole number of seconds >= 1, not "5m"'],
    [["--ttl", "99999999999"], '--ttl must be a whole number of seconds >= 1, not "99999999999"'],
    [["--user-id", "admin"], `--user-id must be a GUID like ${DEFAULT_USER_IDS.user}, not "admin"`],
    [["--user-id="], `--user-id must be a GUID like ${DEFAULT_USER_IDS.user}, not ""`],
    [["--cookie=yes"], "--cookie takes no value"],
    [["--tenant-url"], "--tenant-url needs a value"],
    [
      ["--tenant-url", "localhost:8092"],
      '--tenant-url must be an origin like http://localhost:8092, not "localhost:8092"',
    ],
    [
      ["--tenant-url", "http://x.test/path"],
      '--tenant-url must be an origin like http://localhost:8092, not "http://x.test/path"',
    ],
  ] as const)("%j: %s", ([args, message], { expect }) => {
    const result: SignArgs = parseSignArgs(args);
    expect(result).toEqual({ kind: "error", message });
    expect(message).not.toContain("\n");
  });
});

describe("what it signs", () => {
  it.for([
    ["admin", "ADMIN"],
    ["user", "USER"],
    ["guest", "GUEST"],
  ] as const)("--%s gives a token the gateway accepts as %s", async ([role, expected], { expect }) => {
    const options = signed([`--${role}`, "--tenant", "42"]).options;
    const claims = devClaims(options, NOW_S);
    expect(claims).toMatchObject({ iat: NOW_S, exp: NOW_S + 300, tenant_id: "42" });
    const token = await signClaims(claims);
    const result = await verifySignature(token, TEST_MACHINE_KEY, NOW_S * 1000, DEFAULT_SIGNATURE_POLICY);
    expect(result).toEqual({ ok: true, principal: principalFromClaims(claims) });
    expect(result.ok && result.principal).toMatchObject({
      role: expected,
      tenantId: 42,
      userId: DEFAULT_USER_IDS[role],
    });
  });
});

describe("--cookie and --tenant-url (signing in to /oauth2/authorize locally, AS §3)", () => {
  it("--cookie is a flag; the tenant URL defaults to npm start's origin and can be changed", ({ expect }) => {
    expect(signed(["--cookie"]).options).toMatchObject({ cookie: true, tenantUrl: DEFAULT_TENANT_URL });
    expect(DEFAULT_TENANT_URL).toBe("http://localhost:8092");
    // The gateway's /login page names the plain command only on this origin (src/lib/sign-in.ts).
    expect(DEV_TENANT_URL).toBe(DEFAULT_TENANT_URL);
    const other = signed(["--user", "--cookie", "--tenant-url", "http://127.0.0.1:9000"]).options;
    expect(other).toMatchObject({ role: "user", cookie: true, tenantUrl: "http://127.0.0.1:9000" });
    expect(devClaims(other, NOW_S).tenant_url).toBe("http://127.0.0.1:9000");
    expect(devClaims(signed([]).options, NOW_S).tenant_url).toBe("http://localhost:8092");
  });

  it("prints a Set-Cookie value and a document.cookie line that the gateway reads as the x-signature", async ({
    expect,
  }) => {
    const token = await signClaims(devClaims(signed(["--user", "--cookie"]).options, NOW_S));
    const { setCookie, documentCookie } = signatureCookie(token, 300);
    expect(setCookie).toBe(`x-signature=${token}; Path=/; Max-Age=300; SameSite=Lax`);
    expect(documentCookie).toBe(`document.cookie = "x-signature=${token}; Path=/; Max-Age=300; SameSite=Lax";`);
    // What a browser sends back: the name=value part.
    const sent = new Headers({ cookie: `other=1; ${setCookie.split(";")[0]}` });
    expect(extractSignature(sent)).toBe(token);
  });
});
