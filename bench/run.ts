/**
 * The benchmark command: `npm run bench -- [--quick] [--out DIR] [scenario...]`.
 * Runs each chosen scenario (all when none is named) against its raw reference first and
 * Parley second, prints a table, writes one JSON file per run and the plots under
 * bench/results/ (or DIR), and exits 0 when every scenario ran, valid or not.
 *
 * Scenarios: idle, steady, ladder, bigroom, persistence, storm, presence, rest (numbers
 * 1 to 8 of the benchmark protocol work too). `--quick` shrinks every count and
 * window to seconds, for development and CI.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "./lib/procs.ts";
import { makeTemplate } from "./lib/seed.ts";
import { bigRoom } from "./scenarios/big-room.ts";
import type { Context, Result } from "./scenarios/common.ts";
import { fanoutLadder } from "./scenarios/fanout-ladder.ts";
import { idleHold } from "./scenarios/idle-hold.ts";
import { persistence } from "./scenarios/persistence.ts";
import { presenceStorm } from "./scenarios/presence-storm.ts";
import { reconnectStorm } from "./scenarios/reconnect-storm.ts";
import { restCalls } from "./scenarios/rest.ts";
import { steadyChat } from "./scenarios/steady-chat.ts";
import { markdownTable, printTable } from "./lib/table.ts";

const SCENARIOS: Record<string, { number: string; run: (ctx: Context) => Promise<Result> }> = {
  idle: { number: "1", run: idleHold },
  steady: { number: "2", run: steadyChat },
  ladder: { number: "3", run: fanoutLadder },
  bigroom: { number: "4", run: bigRoom },
  persistence: { number: "5", run: persistence },
  storm: { number: "6", run: reconnectStorm },
  presence: { number: "7", run: presenceStorm },
  rest: { number: "8", run: restCalls },
};

function parseArgs(argv: string[]) {
  let quick = false;
  let out = join(ROOT, "bench", "results");
  const names: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--quick") quick = true;
    else if (arg === "--out") out = argv[++i] ?? out;
    else {
      const name = Object.keys(SCENARIOS).find((k) => k === arg || SCENARIOS[k]?.number === arg);
      if (!name) {
        console.error(
          `unknown scenario "${arg}"; choose from ${Object.keys(SCENARIOS).join(", ")}`,
        );
        process.exit(2);
      }
      names.push(name);
    }
  }
  return { quick, out, names: names.length ? names : Object.keys(SCENARIOS) };
}

const args = parseArgs(process.argv.slice(2));
const log = (line: string) => console.log(line);
const started = new Date();
// A hard bound on the whole run, so no loop outlives a forgotten terminal.
setTimeout(() => {
  console.error("benchmark run exceeded 40 minutes; stopping");
  process.exit(1);
}, 40 * 60_000).unref();

mkdirSync(args.out, { recursive: true });
const poolSize = args.quick ? 20 : 400;
const template = await makeTemplate(
  join(tmpdir(), `parley-bench-template-${poolSize}`),
  poolSize,
  log,
);
const ctx: Context = { quick: args.quick, template, log };
const results: Result[] = [];
for (const name of args.names) {
  const scenario = SCENARIOS[name] as (typeof SCENARIOS)[string];
  const t0 = Date.now();
  log(`scenario ${scenario.number} (${name})${args.quick ? ", quick" : ""}`);
  const result = await scenario.run({ ...ctx, log });
  if (result.plot) {
    const file = join(args.out, `${name}.png`);
    writeFileSync(file, Buffer.from(result.plot, "base64"));
    (result as { plotFile?: string }).plotFile = file;
  }
  results.push({
    ...result,
    plot: undefined,
    seconds: Math.round((Date.now() - t0) / 1000),
  } as Result);
  printTable(result);
}

const report = {
  date: started.toISOString(),
  quick: args.quick,
  machine: { cores: cpus().length, model: cpus()[0]?.model ?? "", bun: Bun.version },
  seconds: Math.round((Date.now() - started.getTime()) / 1000),
  poolUsers: poolSize,
  rateLimits: "off (TEST_MODE=true)",
  results,
};
const file = join(args.out, `bench-${started.toISOString().replace(/[:.]/g, "-")}.json`);
writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
writeFileSync(join(args.out, "latest.json"), `${JSON.stringify(report, null, 2)}\n`);
const heading = `Measured ${report.date.slice(0, 10)} on ${report.machine.cores} cores (${report.machine.model}), Bun ${report.machine.bun}, ${args.quick ? "quick mode, " : ""}${report.seconds} s in all, rate limits off.`;
writeFileSync(
  join(args.out, "latest-summary.md"),
  `${heading}\n\n${results.map(markdownTable).join("\n\n")}\n`,
);
log(`\nwrote ${file} (${report.seconds} s in all)`);
process.exit(0);
