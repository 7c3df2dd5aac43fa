import { describe, expect, it } from "vitest";
import { HpackDecoder, HpackError } from "./decoder.ts";

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ""), "hex");

const DATE1 = "Mon, 21 Oct 2013 20:13:21 GMT";
const DATE2 = "Mon, 21 Oct 2013 20:13:22 GMT";
const LOCATION = "https://www.example.com";
const COOKIE = "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1";

/** RFC 7541 C.3/C.4: decoded lists and dynamic tables (newest first) after each request. */
const REQUESTS = [
  {
    headers: [":method", "GET", ":scheme", "http", ":path", "/", ":authority", "www.example.com"],
    table: [":authority", "www.example.com"],
    size: 57,
  },
  {
    headers: [":method", "GET", ":scheme", "http", ":path", "/", ":authority", "www.example.com", "cache-control", "no-cache"],
    table: ["cache-control", "no-cache", ":authority", "www.example.com"],
    size: 110,
  },
  {
    headers: [":method", "GET", ":scheme", "https", ":path", "/index.html", ":authority", "www.example.com", "custom-key", "custom-value"],
    table: ["custom-key", "custom-value", "cache-control", "no-cache", ":authority", "www.example.com"],
    size: 164,
  },
];

/** RFC 7541 C.5/C.6 (256-octet table): decoded lists and dynamic tables after each response. */
const RESPONSES = [
  {
    headers: [":status", "302", "cache-control", "private", "date", DATE1, "location", LOCATION],
    table: ["location", LOCATION, "date", DATE1, "cache-control", "private", ":status", "302"],
    size: 222,
  },
  {
    headers: [":status", "307", "cache-control", "private", "date", DATE1, "location", LOCATION],
    table: [":status", "307", "location", LOCATION, "date", DATE1, "cache-control", "private"],
    size: 222,
  },
  {
    headers: [":status", "200", "cache-control", "private", "date", DATE2, "location", LOCATION, "content-encoding", "gzip", "set-cookie", COOKIE],
    table: ["set-cookie", COOKIE, "content-encoding", "gzip", "date", DATE2],
    size: 215,
  },
];

function sequence(decoder: HpackDecoder, blocks: string[], expected: typeof REQUESTS): void {
  blocks.forEach((block, i) => {
    expect(decoder.decode(hex(block))).toEqual(expected[i].headers);
    expect(decoder.tableEntries()).toEqual(expected[i].table);
    expect(decoder.tableSize).toBe(expected[i].size);
  });
}

describe("HpackDecoder: RFC 7541 Appendix C", () => {
  it("C.2.1 literal with indexing", () => {
    const d = new HpackDecoder();
    expect(d.decode(hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572"))).toEqual(["custom-key", "custom-header"]);
    expect(d.tableEntries()).toEqual(["custom-key", "custom-header"]);
    expect(d.tableSize).toBe(55);
  });

  it("C.2.2 literal without indexing", () => {
    const d = new HpackDecoder();
    expect(d.decode(hex("040c 2f73 616d 706c 652f 7061 7468"))).toEqual([":path", "/sample/path"]);
    expect(d.tableEntries()).toEqual([]);
  });

  it("C.2.3 literal never indexed", () => {
    const d = new HpackDecoder();
    expect(d.decode(hex("1008 7061 7373 776f 7264 0673 6563 7265 74"))).toEqual(["password", "secret"]);
    expect(d.tableEntries()).toEqual([]);
  });

  it("C.2.4 indexed", () => {
    const d = new HpackDecoder();
    expect(d.decode(hex("82"))).toEqual([":method", "GET"]);
    expect(d.tableSize).toBe(0);
  });

  it("C.3 requests without Huffman coding", () => {
    sequence(
      new HpackDecoder(),
      [
        "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
        "8286 84be 5808 6e6f 2d63 6163 6865",
        "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
      ],
      REQUESTS,
    );
  });

  it("C.4 requests with Huffman coding", () => {
    sequence(
      new HpackDecoder(),
      ["8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff", "8286 84be 5886 a8eb 1064 9cbf", "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf"],
      REQUESTS,
    );
  });

  it("C.5 responses without Huffman coding, 256-octet table (evictions)", () => {
    sequence(
      new HpackDecoder(256),
      [
        "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
        "4803 3330 37c1 c0bf",
        "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31",
      ],
      RESPONSES,
    );
  });

  it("C.6 responses with Huffman coding, 256-octet table (evictions)", () => {
    sequence(
      new HpackDecoder(256),
      [
        "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
        "4883 640e ffc1 c0bf",
        "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07",
      ],
      RESPONSES,
    );
  });
});

describe("HpackDecoder: table handling", () => {
  it("applies dynamic table size updates at the start of a block, up to the limit", () => {
    const d = new HpackDecoder();
    d.decode(hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572"));
    expect(d.decode(hex("20 82"))).toEqual([":method", "GET"]); // size 0 empties the table
    expect(d.tableEntries()).toEqual([]);
    expect(d.decode(hex("20 3fe11f 4103 6162 63"))).toEqual([":authority", "abc"]); // two updates, back to 4096
    expect(d.tableSize).toBe(45);
  });

  it("starts at the protocol's 4096 octets when the limit is larger, until a size update", () => {
    const d = new HpackDecoder(8192);
    const field = (i: number) => Buffer.concat([hex("40 03"), Buffer.from(`x-${i}`), hex("7f e9 06"), Buffer.alloc(1000, 0x61)]);
    for (let i = 0; i < 4; i++) d.decode(field(i)); // 4 * 1035 octets
    expect(d.tableSize).toBe(3 * 1035);
    d.decode(Buffer.concat([hex("3f e1 3f"), field(4)])); // 8192
    d.decode(field(5));
    expect(d.tableSize).toBe(5 * 1035);
  });

  it("empties the table for an entry larger than it, and reads latin1 octets from a plain Uint8Array", () => {
    const d = new HpackDecoder(64);
    d.decode(hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572"));
    const big = new Uint8Array([0x40, 0x01, 0x78, 0x20, ...Buffer.from("é".repeat(16) + "\xff".repeat(16), "latin1")]);
    expect(d.decode(big)).toEqual(["x", "é".repeat(16) + "\xff".repeat(16)]);
    expect(d.tableEntries()).toEqual([]);
    expect(d.tableSize).toBe(0);
  });

  it("resolves literal names from the dynamic table and from 4-bit-prefix indices above 15", () => {
    const d = new HpackDecoder();
    d.decode(hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572")); // index 62
    expect(d.decode(hex("7e 0161 0f2f 0162 1f08 0163"))).toEqual(["custom-key", "a", "custom-key", "b", "authorization", "c"]);
    expect(d.tableEntries()).toEqual(["custom-key", "a", "custom-key", "custom-header"]);
  });
});

describe("HpackDecoder: malformed blocks throw HpackError", () => {
  const rejects = (block: string, message: RegExp, decoder = new HpackDecoder(), maxList?: number) => {
    expect(() => decoder.decode(hex(block), maxList)).toThrow(HpackError);
    expect(() => decoder.decode(hex(block), maxList)).toThrow(message);
  };

  it("index 0", () => rejects("80", /index 0/));
  it("index beyond the tables", () => {
    rejects("be", /past the end/);
    rejects("ff80ffffff07", /past the end/);
    rejects("7f00 0161", /past the end/); // literal with a dynamic name index on an empty table
  });
  it("truncated input", () => {
    rejects("400a 6375 7374", /truncated string/); // name length 10, 3 octets
    rejects("4001 61", /truncated string/); // no value
    rejects("4001 6103 6263", /truncated string/);
    rejects("ff", /truncated integer/);
    rejects("41 ff", /truncated integer/); // value length prefix all ones, no continuation
  });
  it("integer overflow", () => {
    rejects("ffffffffff0f", /2\^31-1/);
    rejects("ff808080808000", /continuation/);
    rejects("40 7fffffffff0f", /2\^31-1/); // a string length
  });
  it("bad Huffman strings", () => {
    rejects("40 81ff 0161", /padding/);
    rejects("41 84ffffffff", /EOS/);
  });
  it("a size update above the limit", () => {
    rejects("3fe21f", /above the limit 4096/); // 4097
    rejects("3fe201", /above the limit 256/, new HpackDecoder(256)); // 257
  });
  it("a size update after a header field", () => {
    rejects("82 20", /after a header field/);
    rejects("82 3fe11f", /after a header field/);
  });
  it("a header list larger than maxHeaderListBytes", () => {
    const block = "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d"; // sizes 42 + 43 + 38 + 57
    expect(new HpackDecoder().decode(hex(block), 180)).toHaveLength(8);
    rejects(block, /larger than 179 bytes/, new HpackDecoder(), 179);
  });
});
