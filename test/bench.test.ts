/**
 * The benchmark command end to end in its quickest form (`--quick`, tiny counts, two
 * scenarios), so the benchmark code cannot rot: it must run against a real raw relay and
 * a real Parley, exit 0, and write a JSON report whose figures were measured. No timing
 * target is checked here; the figures depend on the machine.
 */
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const out = mkdtempSync(join(tmpdir(), "bench-smoke-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

interface Row {
  metric: string;
  raw: number | null;
  parley: number | null;
}

test("the quick benchmark runs steady chat and a reconnect storm and reports both sides", async () => {
  const run = Bun.spawn(
    [process.execPath, "bench/run.ts", "--quick", "--out", out, "steady", "storm"],
    {
      cwd: join(import.meta.dir, ".."),
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  const [code, stdout, stderr] = await Promise.all([
    run.exited,
    new Response(run.stdout).text(),
    new Response(run.stderr).text(),
  ]);

  expect({ code, stderr: code === 0 ? "" : stderr }).toEqual({ code: 0, stderr: "" });
  expect(stdout).toContain("2. Steady chat");
  const report = JSON.parse(readFileSync(join(out, "latest.json"), "utf8"));
  expect(report.results.map((r: { scenario: string }) => r.scenario)).toEqual(["steady", "storm"]);
  const [steady, storm] = report.results as { rows: Row[] }[];
  const byName = (rows: Row[], name: string) => rows.find((r) => r.metric === name);
  expect(byName(steady?.rows ?? [], "loss of answered messages (%)")).toMatchObject({
    raw: 0,
    parley: 0,
  });
  expect(byName(steady?.rows ?? [], "send-to-deliver p99 (ms)")?.parley).toBeGreaterThan(0);
  expect(byName(storm?.rows ?? [], "clients back")).toMatchObject({ raw: 100, parley: 100 });
  expect(existsSync(join(out, "storm.png"))).toBe(true);
}, 60_000);
