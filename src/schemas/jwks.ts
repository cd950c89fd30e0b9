import { z } from "@hono/zod-openapi";

/** Wire format of GET /oauth2/jwks (RFC 7517 §5): public signing keys only (AS §5.3). */

const base64url = (description: string) =>
  z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .openapi({ description });

const EXAMPLE_EC_KEY = {
  kty: "EC",
  crv: "P-256",
  x: "e2op0ulXNSeq2hnHKlU6GejchnPslClnJ-ZwuCria6o",
  y: "W6IaGGjI550xRwltR-bc8VHwK6B6n4j9nzn0iXzOc-g",
  kid: "AhFaD45Q-98SZH4g0SdjQ08HAAYE7hjlHu62pqz6fR4",
  alg: "ES256",
  use: "sig",
} as const;

const EXAMPLE_RSA_KEY = {
  kty: "RSA",
  n: "3YBTMMwRdixfkYq-1mYO59FqsCCA_BuaA_D4Tp695AC0LeHNas2cEdoPDbMfCQ-P23IJWhCoPzLJjuTmIGlcoi5WGDpLP0vyLNaMWhinF1omTlZ-YJZvNfx_YIQO-qvt-LnfKBrIAPstPmHXCKeaq2wmc91t7c-1bWuYhKnP8MPc9G9gJR1_M7K-3q75jWeJA3qG0pfRW-e6PoZPQkd2Co3nuG7zSUN309_5UFOQ0wP5DlCopnxxuvf8nseiDB0NYxNjuNtE4qOOBmlwV9kKDmo8Mes0E3Jn3hEpSLBNeE4y0kBe52ZfYGnks8ITWD_FIlb2fGgLrBuymEdCcKvOBw",
  e: "AQAB",
  kid: "ZLHOiAXkRf2_fojj_NNmSXu-rkSxZJbsI6jqK5HsE2I",
  alg: "RS256",
  use: "sig",
} as const;

/** One public key. Strict: a private member (`d`, `p`, `q`, `dp`, `dq`, `qi`) breaks the contract. */
export const PublicJwkSchema = z
  .strictObject({
    kty: z.enum(["EC", "RSA"]).openapi({ description: "`EC` for ES256 (P-256), `RSA` for RS256 (2048-bit)." }),
    kid: base64url("RFC 7638 SHA-256 thumbprint of the key; the `kid` header of every token it signs."),
    alg: z.enum(["ES256", "RS256"]),
    use: z.literal("sig"),
    crv: z.literal("P-256").optional(),
    x: base64url("EC only.").optional(),
    y: base64url("EC only.").optional(),
    n: base64url("RSA only: the modulus.").optional(),
    e: base64url("RSA only: the public exponent.").optional(),
  })
  .openapi("PublicJwk", { example: EXAMPLE_EC_KEY });

export const JwksSchema = z.object({ keys: z.array(PublicJwkSchema) }).openapi("Jwks", {
  description:
    "The authorization server's public signing keys: the current ES256 and RS256 keys, a key about to sign (published first), and retired keys until every token they signed has expired.",
  example: { keys: [EXAMPLE_EC_KEY, EXAMPLE_RSA_KEY] },
});

export type PublicJwk = z.infer<typeof PublicJwkSchema>;
export type Jwks = z.infer<typeof JwksSchema>;
