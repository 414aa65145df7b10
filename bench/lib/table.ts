/**
 * The terminal table of a scenario: one line per measure with raw, Parley, their ratio,
 * the target and whether Parley meets it, then the reasons a run is invalid.
 */
import type { Result, Row } from "../scenarios/common.ts";

function cell(value: Row[keyof Row] | undefined): string {
  if (value === null || value === undefined) return "-";
  if (typeof value === "number")
    return Number.isInteger(value) ? String(value) : value.toFixed(3).replace(/\.?0+$/, "");
  return String(value);
}

/** The table of `result` as lines of text. */
export function tableLines(result: Result): string[] {
  const header = ["measure", "raw", "parley", "ratio", "target", "met"];
  const lines = result.rows.map((r) => [
    r.metric,
    cell(r.raw),
    cell(r.parley),
    r.ratio === null ? "-" : `${cell(r.ratio)}x`,
    r.target ?? "",
    r.met === undefined ? "" : r.met ? "yes" : "NO",
  ]);
  const widths = header.map((h, i) =>
    Math.max(h.length, ...lines.map((l) => (l[i] as string).length)),
  );
  const fmt = (cols: string[]) =>
    cols
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number)))
      .join("  ");
  const out = [``, `${result.title}`, fmt(header), fmt(widths.map((w) => "-".repeat(w)))];
  out.push(...lines.map(fmt));
  for (const why of result.invalid) out.push(`INVALID: ${why}`);
  for (const note of result.notes) out.push(`note: ${note}`);
  return out;
}

/** Prints the table of `result`. */
export function printTable(result: Result): void {
  console.log(tableLines(result).join("\n"));
}

/** The table of `result` as a Markdown section, for the committed summary and the README. */
export function markdownTable(result: Result): string {
  const lines = [
    `#### ${result.title}`,
    "",
    "| measure | raw | Parley | ratio | target | met |",
    "|---|---:|---:|---:|---|---|",
  ];
  for (const r of result.rows) {
    const ratio = r.ratio === null ? "-" : `${cell(r.ratio)}×`;
    const met = r.met === undefined ? "" : r.met ? "yes" : "**no**";
    lines.push(
      `| ${r.metric} | ${cell(r.raw)} | ${cell(r.parley)} | ${ratio} | ${r.target ?? ""} | ${met} |`,
    );
  }
  lines.push("");
  for (const why of result.invalid) lines.push(`- Invalid: ${why}`);
  for (const note of result.notes) lines.push(`- ${note}`);
  return lines.join("\n");
}
