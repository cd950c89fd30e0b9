import { describe, it } from "vitest";
import { deriveSignatureKeyBytes, SIGNATURE_KEY_LENGTH } from "../../src/auth/machine-key";

// Every vector of shared/vectors/signature.md (SPEC §3, key derivation).

const toHex = (bytes: Uint8Array | ArrayBuffer): string =>
  [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");

const sha256Hex = async (bytes: Uint8Array<ArrayBuffer>): Promise<string> =>
  toHex(await crypto.subtle.digest("SHA-256", bytes));

const DEV_MACHINE_KEY = "1123askdasjklasbnd";

/**
 * The mistake the vectors file warns about: .NET's own `System.Random` wraps its indices at 56.
 * Kept here only to prove that the SHA-256 vector tells the two ports apart.
 */
function deriveWrappingAt56(machineKey: string): Uint8Array {
  const utf8 = new TextEncoder().encode(machineKey);
  const b = new Uint8Array(4 + utf8.length);
  b.set(utf8, 4);
  const seed = new DataView(b.buffer).getInt32(b.length - 4, true);
  const slots = new Int32Array(56);
  let n2 = (161803398 - Math.abs(seed)) | 0;
  slots[55] = n2;
  let n3 = 1;
  for (let i = 1; i < 55; i++) {
    const idx = (21 * i) % 55;
    slots[idx] = n3;
    n3 = (n2 - n3) | 0;
    if (n3 < 0) n3 = (n3 + 0x7fffffff) | 0;
    n2 = slots[idx] ?? 0;
  }
  for (let round = 0; round < 4; round++) {
    for (let k = 1; k < 56; k++) {
      let v = ((slots[k] ?? 0) - (slots[1 + ((k + 30) % 55)] ?? 0)) | 0;
      if (v < 0) v = (v + 0x7fffffff) | 0;
      slots[k] = v;
    }
  }
  let inext = 0;
  let inextp = 21;
  const out = new Uint8Array(SIGNATURE_KEY_LENGTH);
  for (let i = 0; i < out.length; i++) {
    if (++inext >= 56) inext = 1;
    if (++inextp >= 56) inextp = 1;
    let num = ((slots[inext] ?? 0) - (slots[inextp] ?? 0)) | 0;
    if (num === 0x7fffffff) num--;
    if (num < 0) num = (num + 0x7fffffff) | 0;
    slots[inext] = num;
    out[i] = num % 256;
  }
  return out;
}

describe("deriveSignatureKeyBytes", () => {
  // `it.for` is vitest's `it.each` that also hands over the test context (and so `expect`).
  it.for([
    ["111", [156, 182, 160, 235, 211, 5, 157, 158]],
    ["test", [250, 100, 177, 47, 210, 140, 143, 113]],
    ["mock", [43, 205, 254, 196, 181, 251, 56, 126]],
  ] as const)("machine key %j starts with the vector's first 8 bytes", ([machineKey, firstBytes], { expect }) => {
    const key = deriveSignatureKeyBytes(machineKey);
    expect(key).toHaveLength(SIGNATURE_KEY_LENGTH);
    expect([...key.slice(0, 8)]).toEqual(firstBytes);
  });

  it("the dev machine key gives the vector's first 16 bytes", ({ expect }) => {
    expect(toHex(deriveSignatureKeyBytes(DEV_MACHINE_KEY).slice(0, 16))).toBe("e3749c2091f034c3429a2d1d207c6e1f");
  });

  it("the dev machine key gives all 256 bytes of the vector (SHA-256 line)", async ({ expect }) => {
    const key = deriveSignatureKeyBytes(DEV_MACHINE_KEY);
    expect(key).toHaveLength(256);
    expect(await sha256Hex(key)).toBe("f944f487e7b5855365190eef977abaa102d29737cec122784be9e64a2b71b5d7");
  });

  it("the SHA-256 vector catches a port that wraps its indices at 56", async ({ expect }) => {
    const wrong = deriveWrappingAt56(DEV_MACHINE_KEY);
    // Same first bytes, so only the full-key hash can tell the ports apart.
    expect(toHex(wrong.slice(0, 16))).toBe("e3749c2091f034c3429a2d1d207c6e1f");
    expect(await sha256Hex(new Uint8Array(wrong))).not.toBe(
      "f944f487e7b5855365190eef977abaa102d29737cec122784be9e64a2b71b5d7",
    );
  });

  it("is deterministic and depends on the machine key", ({ expect }) => {
    expect(toHex(deriveSignatureKeyBytes("test"))).toBe(toHex(deriveSignatureKeyBytes("test")));
    expect(toHex(deriveSignatureKeyBytes("test"))).not.toBe(toHex(deriveSignatureKeyBytes("mock")));
    // Short and non-ASCII keys (seed taken partly from the four leading zero bytes) still give 256 bytes.
    expect(deriveSignatureKeyBytes("")).toHaveLength(256);
    expect(deriveSignatureKeyBytes("ключ")).toHaveLength(256);
  });
});
