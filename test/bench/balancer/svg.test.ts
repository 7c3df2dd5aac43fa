import { XMLParser, XMLValidator } from "fast-xml-parser";
import { describe, expect, it } from "vitest";
import { escapeXml, lineChartSvg, logTicks, yRange, type Panel } from "./svg.ts";

const panels: Panel[] = [
  {
    title: `(a) b9 10× slower <middle third> & "quoted"`,
    xMaxS: 60,
    shade: [20, 40],
    series: [
      { label: "ROUND_ROBIN", color: "#d62728", points: [{ t: 1, value: 55 }, { t: 21, value: 560 }, { t: 41, value: 54 }] },
      { label: "grpc-balancer & co", color: "#1f77b4", points: [{ t: 1, value: 52 }, { t: 21, value: Infinity }, { t: 41, value: NaN }] },
    ],
  },
  { title: "(d) added", xMaxS: 45, marks: [15], series: [{ label: "x", color: "#000", points: [] }] },
];

describe("SVG line chart", () => {
  it("is well-formed XML with escaped text, one panel group and polyline per series", () => {
    const svg = lineChartSvg(panels, { title: "p99 <log> & more", yLabel: "p99 (ms)" });
    expect(XMLValidator.validate(svg)).toBe(true);
    const doc = new XMLParser({ ignoreAttributes: false }).parse(svg);
    expect(doc.svg["@_xmlns"]).toBe("http://www.w3.org/2000/svg");
    expect(doc.svg.g).toHaveLength(2);
    // Panel 2 has no points: no polyline; panel 1 has two.
    expect([doc.svg.g[0].polyline].flat()).toHaveLength(2);
    expect(doc.svg.g[1].polyline).toBeUndefined();
    expect(svg).toContain("&lt;middle third&gt; &amp; &quot;quoted&quot;");
    expect(svg).not.toContain("NaN");
    // The infinite point is drawn at the top of the axis, the NaN one dropped.
    const balancer = [doc.svg.g[0].polyline].flat()[1]["@_points"] as string;
    expect(balancer.split(" ")).toHaveLength(2);
  });

  it("is deterministic", () => {
    expect(lineChartSvg(panels, { title: "t", yLabel: "y" })).toBe(lineChartSvg(panels, { title: "t", yLabel: "y" }));
  });

  it("uses 1-2-5 bounds and ticks on the log axis", () => {
    expect(yRange(panels)).toEqual([50, 1000]);
    expect(logTicks(50, 1000)).toEqual([50, 100, 200, 500, 1000]);
    expect(yRange([])).toEqual([1, 10]);
    expect(escapeXml(`<a href='x'>&</a>`)).toBe("&lt;a href=&apos;x&apos;&gt;&amp;&lt;/a&gt;");
  });
});
