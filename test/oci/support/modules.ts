/**
 * Valid Wasm modules of any size for registry tests: the empty module plus one custom section
 * (id 0) named `meshwasm.test` holding deterministic filler, so `WebAssembly.validate` accepts
 * them and different seeds give different digests.
 */
function leb128(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

export function testModule(payloadBytes: number, seed = 1): Uint8Array {
  const name = Buffer.from("meshwasm.test");
  const payload = new Uint8Array(payloadBytes);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < payload.length; i++) {
    // xorshift32: incompressible enough that chunked uploads really have several chunks
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    payload[i] = x & 0xff;
  }
  const body = [...leb128(name.length), ...name, ...payload];
  return Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x00, ...leb128(body.length), ...body]);
}
