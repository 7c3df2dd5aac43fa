/**
 * Property test of the SDK's JSON reader against Node's JSON.parse (issue: at least 100,000
 * mutated and random inputs; same accept/reject, same values; never a trap). Inputs are parsed in
 * batches of BATCH per guest call. Node's side is JSON.parse(Buffer.from(bytes).toString("utf8"))
 * (and JSON.parse(text) for parseJson); values are compared in a canonical form that tells -0
 * from 0, compares f64 bits and follows V8's key order. A trap throws and fails the test.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { compileJsonHarness, loadJsonHarness, nodeParse, type JsonHarness } from "./json-harness.ts";
import { mutatedDocument, numberDocument, randomBytes, stringDocument, textDocument, tokenSoup, validDocument } from "./json-generators.ts";

const BATCH = 500;
let harness: JsonHarness;
let checked = 0;

beforeAll(async () => {
  harness = await loadJsonHarness(await compileJsonHarness());
}, 180_000);

const show = (x: Uint8Array | string) => (typeof x === "string" ? JSON.stringify(x) : `bytes ${Buffer.from(x).toString("hex")} (${JSON.stringify(Buffer.from(x).toString("latin1"))})`);

/** Checks one batch; throws with the first differing input. */
function checkBatch(inputs: Array<Uint8Array | string>, mode: "bytes" | "text"): void {
  const results = harness.parseBatch(inputs, mode);
  expect(results.length).toBe(inputs.length);
  inputs.forEach((input, i) => {
    const guest = results[i]!;
    const node = nodeParse(input, mode);
    const length = typeof input === "string" ? Buffer.byteLength(input, "utf8") : input.length;
    if (guest.ok !== node.ok) {
      throw new Error(`accept/reject differs on ${show(input)}: guest ${guest.ok ? "accepted" : `rejected (${guest.error})`}, JSON.parse ${node.ok ? "accepted" : "rejected"}`);
    }
    if (guest.ok && guest.canonical !== node.canonical) {
      throw new Error(`value differs on ${show(input)}:\n guest ${guest.canonical}\n node  ${node.canonical}`);
    }
    if (!guest.ok && (guest.error === "" || guest.offset < 0 || (mode === "bytes" && guest.offset > length) || !guest.error.includes(`byte ${guest.offset})`))) {
      throw new Error(`bad error report on ${show(input)}: ${JSON.stringify(guest)}`);
    }
  });
  checked += inputs.length;
}

function property<T extends Uint8Array | string>(arb: fc.Arbitrary<T>, inputs: number, mode: "bytes" | "text" = "bytes"): void {
  fc.assert(
    fc.property(fc.array(arb, { minLength: BATCH, maxLength: BATCH }), (batch) => { checkBatch(batch, mode); }),
    { numRuns: Math.ceil(inputs / BATCH), endOnFailure: true },
  );
}

describe("JSON reader vs JSON.parse (property, >= 100,000 inputs)", () => {
  it("valid documents: accepted with the same values", () => property(validDocument, 20_000), 240_000);
  it("byte-mutated documents", () => property(mutatedDocument, 40_000), 240_000);
  it("random bytes", () => property(randomBytes, 15_000), 240_000);
  it("token soups", () => property(tokenSoup, 15_000), 240_000);
  it("numbers: long mantissas, huge exponents, exact midpoints between doubles", () => property(numberDocument, 20_000), 240_000);
  it("strings: escapes, lone surrogates, invalid UTF-8", () => property(stringDocument, 10_000), 240_000);
  it("parseJson(text) with raw lone surrogates", () => property(textDocument, 5_000, "text"), 240_000);
  it("checked at least 100,000 inputs", () => {
    expect(checked).toBeGreaterThanOrEqual(100_000);
  });
});
