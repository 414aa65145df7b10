/**
 * Line charts as PNG: drawn as SVG here and rasterised by @resvg/resvg-js, whose native
 * binaries ship as npm packages (nothing is downloaded at install or run time). Text
 * needs a system font; without one the lines and axes still render.
 */
import { Resvg } from "@resvg/resvg-js";

/** One line: a name for the legend and its points. */
export interface Series {
  readonly name: string;
  readonly points: readonly (readonly [number, number])[];
}

/** What to draw. */
export interface Chart {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  /** Log scale on the y axis (values must be positive). */
  readonly logY?: boolean;
}

const W = 800;
const H = 480;
const M = { left: 80, right: 30, top: 50, bottom: 60 };
const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd"];

function niceTicks(min: number, max: number, count = 5): number[] {
  const span = max - min || 1;
  const step0 = span / count;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = ([1, 2, 5, 10].find((m) => m * mag >= step0) ?? 10) * mag;
  const ticks: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step / 1e6; v += step)
    ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

function label(v: number): string {
  if (Math.abs(v) >= 1e6) return `${v / 1e6}M`;
  if (Math.abs(v) >= 1e3) return `${v / 1e3}k`;
  return String(v);
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");

/** The chart as SVG text. */
export function chartSvg(chart: Chart): string {
  const points = chart.series.flatMap((s) => s.points);
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => (chart.logY ? Math.log10(Math.max(p[1], 1e-3)) : p[1]));
  const xMin = Math.min(0, ...xs);
  const xMax = Math.max(1, ...xs);
  const yMin = chart.logY ? Math.floor(Math.min(...ys, 0)) : 0;
  const yMax = chart.logY ? Math.ceil(Math.max(...ys, 1)) : Math.max(1, ...ys) * 1.05;
  const px = (x: number) => M.left + ((x - xMin) / (xMax - xMin)) * (W - M.left - M.right);
  const py = (y: number) =>
    H - M.bottom - ((y - yMin) / (yMax - yMin || 1)) * (H - M.top - M.bottom);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="DejaVu Sans, Arial, sans-serif">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="28" font-size="18" text-anchor="middle">${esc(chart.title)}</text>`,
  ];
  for (const t of niceTicks(xMin, xMax)) {
    out.push(
      `<line x1="${px(t)}" y1="${M.top}" x2="${px(t)}" y2="${H - M.bottom}" stroke="#eee"/>`,
    );
    out.push(
      `<text x="${px(t)}" y="${H - M.bottom + 18}" font-size="12" text-anchor="middle">${label(t)}</text>`,
    );
  }
  const yTicks = chart.logY
    ? Array.from({ length: yMax - yMin + 1 }, (_, i) => yMin + i)
    : niceTicks(yMin, yMax);
  for (const t of yTicks) {
    out.push(
      `<line x1="${M.left}" y1="${py(t)}" x2="${W - M.right}" y2="${py(t)}" stroke="#eee"/>`,
    );
    const text = chart.logY ? label(Number((10 ** t).toPrecision(3))) : label(t);
    out.push(
      `<text x="${M.left - 8}" y="${py(t) + 4}" font-size="12" text-anchor="end">${text}</text>`,
    );
  }
  out.push(
    `<rect x="${M.left}" y="${M.top}" width="${W - M.left - M.right}" height="${H - M.top - M.bottom}" fill="none" stroke="#444"/>`,
  );
  out.push(
    `<text x="${W / 2}" y="${H - 15}" font-size="14" text-anchor="middle">${esc(chart.xLabel)}</text>`,
  );
  out.push(
    `<text x="20" y="${H / 2}" font-size="14" text-anchor="middle" transform="rotate(-90 20 ${H / 2})">${esc(chart.yLabel)}</text>`,
  );
  chart.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const path = s.points
      .map(
        (p) =>
          `${px(p[0]).toFixed(1)},${py(chart.logY ? Math.log10(Math.max(p[1], 1e-3)) : p[1]).toFixed(1)}`,
      )
      .join(" ");
    out.push(`<polyline points="${path}" fill="none" stroke="${color}" stroke-width="2"/>`);
    if (s.points.length < 40) {
      for (const p of s.points) {
        const y = chart.logY ? Math.log10(Math.max(p[1], 1e-3)) : p[1];
        out.push(`<circle cx="${px(p[0])}" cy="${py(y)}" r="3.5" fill="${color}"/>`);
      }
    }
    out.push(
      `<line x1="${M.left + 15}" y1="${M.top + 18 + i * 20}" x2="${M.left + 40}" y2="${M.top + 18 + i * 20}" stroke="${color}" stroke-width="3"/>`,
    );
    out.push(
      `<text x="${M.left + 48}" y="${M.top + 22 + i * 20}" font-size="13">${esc(s.name)}</text>`,
    );
  });
  out.push("</svg>");
  return out.join("\n");
}

/** The chart as PNG bytes. */
export function chartPng(chart: Chart): Uint8Array {
  return new Resvg(chartSvg(chart), { font: { loadSystemFonts: true } }).render().asPng();
}
