/**
 * A small SVG 1.1 line-chart writer for the benchmark's latency-over-time plot (pure): stacked
 * panels sharing a legend, each with a time axis in seconds, a logarithmic latency axis in ms
 * (ticks at 1-2-5 steps), one polyline per series, an optional shaded window and vertical
 * markers. Text is XML-escaped; numbers are written with fixed precision, so equal input gives
 * byte-equal output.
 */

export interface Series {
  label: string;
  color: string;
  points: Array<{ t: number; value: number }>;
}

export interface Panel {
  title: string;
  xMaxS: number;
  series: Series[];
  /** A shaded time window [from, to] (s), e.g. when a backend is slow. */
  shade?: [number, number];
  /** Vertical markers (s), e.g. when a backend is added. */
  marks?: number[];
}

export interface ChartOptions {
  title: string;
  yLabel: string;
  width?: number;
  panelHeight?: number;
}

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c]!);
}

const n = (v: number) => (Math.round(v * 10) / 10).toFixed(1);

/** 1-2-5 ticks covering [lo, hi] (lo > 0). */
export function logTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= lo * 0.999 && v <= hi * 1.001) ticks.push(v);
    }
  }
  return ticks;
}

/** The y range of the chart: 1-2-5 bounds around every finite positive value. */
export function yRange(panels: readonly Panel[]): [number, number] {
  const values = panels.flatMap((p) => p.series.flatMap((s) => s.points.map((q) => q.value))).filter((v) => Number.isFinite(v) && v > 0);
  if (values.length === 0) return [1, 10];
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const down = (v: number) => {
    const e = 10 ** Math.floor(Math.log10(v));
    return [5, 2, 1].map((m) => m * e).find((c) => c <= v)!;
  };
  const up = (v: number) => {
    const e = 10 ** Math.floor(Math.log10(v));
    return [1, 2, 5, 10].map((m) => m * e).find((c) => c >= v)!;
  };
  const a = down(lo);
  const b = up(hi);
  return [a, b > a ? b : a * 10];
}

export function lineChartSvg(panels: readonly Panel[], o: ChartOptions): string {
  const width = o.width ?? 900;
  const panelHeight = o.panelHeight ?? 220;
  const left = 70;
  const right = 20;
  const top = 60;
  const gap = 50;
  const plotW = width - left - right;
  const plotH = panelHeight - gap;
  const height = top + panels.length * panelHeight + 20;
  const [yLo, yHi] = yRange(panels);
  const ly = (v: number, y0: number) => {
    const c = Math.min(Math.max(v, yLo), yHi);
    return y0 + plotH - ((Math.log10(c) - Math.log10(yLo)) / (Math.log10(yHi) - Math.log10(yLo))) * plotH;
  };
  const out: string[] = [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="white"/>`,
    `<text x="${left}" y="22" font-size="15" font-weight="bold">${escapeXml(o.title)}</text>`,
  ];
  const legend = panels[0]?.series ?? [];
  legend.forEach((s, i) => {
    const x = left + i * 210;
    out.push(`<line x1="${x}" y1="40" x2="${x + 24}" y2="40" stroke="${escapeXml(s.color)}" stroke-width="2.5"/>`);
    out.push(`<text x="${x + 30}" y="44">${escapeXml(s.label)}</text>`);
  });
  panels.forEach((p, i) => {
    const y0 = top + i * panelHeight + 20;
    const lx = (t: number) => left + (Math.min(Math.max(t, 0), p.xMaxS) / p.xMaxS) * plotW;
    out.push(`<g>`);
    out.push(`<text x="${left}" y="${n(y0 - 6)}" font-weight="bold">${escapeXml(p.title)}</text>`);
    if (p.shade) {
      const [a, b] = p.shade;
      out.push(`<rect x="${n(lx(a))}" y="${n(y0)}" width="${n(lx(b) - lx(a))}" height="${n(plotH)}" fill="#f3e0e0"/>`);
    }
    for (const v of logTicks(yLo, yHi)) {
      const y = ly(v, y0);
      out.push(`<line x1="${left}" y1="${n(y)}" x2="${left + plotW}" y2="${n(y)}" stroke="#e4e4e4"/>`);
      out.push(`<text x="${left - 6}" y="${n(y + 4)}" text-anchor="end">${v}</text>`);
    }
    const step = p.xMaxS > 30 ? 10 : p.xMaxS > 10 ? 5 : 1;
    for (let t = 0; t <= p.xMaxS + 1e-9; t += step) {
      out.push(`<line x1="${n(lx(t))}" y1="${n(y0 + plotH)}" x2="${n(lx(t))}" y2="${n(y0 + plotH + 4)}" stroke="#444"/>`);
      out.push(`<text x="${n(lx(t))}" y="${n(y0 + plotH + 16)}" text-anchor="middle">${t}</text>`);
    }
    for (const m of p.marks ?? []) {
      out.push(`<line x1="${n(lx(m))}" y1="${n(y0)}" x2="${n(lx(m))}" y2="${n(y0 + plotH)}" stroke="#a33" stroke-dasharray="4 3"/>`);
    }
    out.push(`<rect x="${left}" y="${n(y0)}" width="${plotW}" height="${n(plotH)}" fill="none" stroke="#444"/>`);
    out.push(`<text x="${left + plotW}" y="${n(y0 + plotH + 30)}" text-anchor="end">time (s)</text>`);
    out.push(`<text transform="translate(16 ${n(y0 + plotH / 2)}) rotate(-90)" text-anchor="middle">${escapeXml(o.yLabel)}</text>`);
    for (const s of p.series) {
      const pts = s.points.filter((q) => Number.isFinite(q.value) || q.value === Infinity).map((q) => `${n(lx(q.t))},${n(ly(q.value, y0))}`);
      if (pts.length) out.push(`<polyline fill="none" stroke="${escapeXml(s.color)}" stroke-width="1.6" points="${pts.join(" ")}"/>`);
    }
    out.push(`</g>`);
  });
  out.push(`</svg>`, "");
  return out.join("\n");
}
