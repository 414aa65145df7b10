/**
 * Scenario 5, persistence ceiling: 50 senders writing to 100 rooms of 10 members (so
 * every message also updates the room and its members' unread counters), at rising
 * rates over DDP, and back to back over REST `chat.sendMessage`. The raw reference is a
 * bare SQLite write loop of the same shape and durability (bench/raw/store-loop.ts) at
 * the same rates. A rate is sustained when 95 % of its messages were sent and answered
 * with ack p99 <= 100 ms.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Generators } from "../lib/generators.ts";
import type { Latency } from "../lib/measure.ts";
import { latencyOf, mergeHists } from "../lib/measure.ts";
import { pinning, ROOT } from "../lib/procs.ts";
import { type Context, invalidity, type Result, row, withServer } from "./common.ts";

interface RateStep {
  readonly rate: number;
  readonly ackedPerSecond: number;
  readonly ack: Latency;
  readonly serverCores?: number;
  readonly sustained: boolean;
}

const MEMBERS = 10;

export async function persistence(ctx: Context): Promise<Result> {
  const p = ctx.quick
    ? { senders: 5, rates: [100, 200], stepS: 1, restS: 1 }
    : { senders: 50, rates: [500, 1000, 2000, 5000, 10_000], stepS: 5, restS: 10 };
  const SENDERS = p.senders;
  const ROOMS = 2 * SENDERS;
  const invalid: string[] = [];

  ctx.log(`  raw: SQLite write loop at ${p.rates.join(", ")} msg/s`);
  const rawSteps = await rawLoop(p.rates, p.stepS, ROOMS);

  const parley = await withServer(ctx, "parley", async (run) => {
    const users = run.users;
    // Senders are the first pool users; room r holds sender r % senders and 9 others.
    const others = users.slice(SENDERS);
    const rids = await run.rooms(
      ROOMS,
      (r) => [
        users[r % SENDERS] as (typeof users)[number],
        ...Array.from(
          { length: MEMBERS - 1 },
          (_, k) => others[(r * 9 + k) % others.length] as (typeof users)[number],
        ),
      ],
      "persist",
    );
    const specs = Array.from({ length: SENDERS }, (_, i) => ({
      ...(users[i] as (typeof users)[number]),
      rids: [rids[i] as string, rids[i + SENDERS] as string],
      subs: [],
    }));
    const gens = new Generators(1);
    try {
      await gens.connect(run.server.url, specs);
      const ddp: RateStep[] = [];
      for (const rate of p.rates) {
        ctx.log(`  parley: DDP sendMessage at ${rate} msg/s`);
        await gens.stats(true);
        run.sampler.reset();
        const [load] = await gens.each<{ outstanding: number }>(() => ({
          op: "load",
          actions: [{ kind: "chat", rate, senders: specs.map((_, i) => i) }],
          durationMs: p.stepS * 1000,
          drainMs: 5000,
        }));
        const cpu = run.sampler.read();
        const snap = await gens.stats(false);
        invalid.push(...invalidity("parley", snap));
        const chat = snap.calls.chat;
        const acked = (chat?.acked ?? 0) - (chat?.errors ?? 0);
        const ack = chat?.ack ?? latencyOf(mergeHists([]));
        const sustained =
          acked >= 0.95 * rate * p.stepS && ack.p99 <= 100 && (load?.outstanding ?? 0) === 0;
        ddp.push({
          rate,
          ackedPerSecond: Math.round(acked / p.stepS),
          ack,
          serverCores: Math.round(cpu.cpuCores * 1000) / 1000,
          sustained,
        });
        if (chat?.firstError)
          invalid.push(`parley: sendMessage answered an error: ${chat.firstError}`);
        if (!sustained) break;
      }

      ctx.log(
        `  parley: REST chat.sendMessage, ${SENDERS} connections back to back for ${p.restS} s`,
      );
      run.sampler.reset();
      const requests = specs.map((s, i) => ({
        method: "POST",
        path: "/api/v1/chat.sendMessage",
        headers: {
          "Content-Type": "application/json",
          "X-User-Id": s.uid,
          "X-Auth-Token": s.token,
        },
        body: JSON.stringify({ message: { rid: s.rids[i % 2], msg: "persisted over REST" } }),
      }));
      const [rest] = await gens.each<{
        count: number;
        errors: number;
        firstError: string | null;
        hist: string;
      }>(() => ({
        op: "http",
        base: run.server.url,
        requests,
        concurrency: SENDERS,
        durationMs: p.restS * 1000,
      }));
      const restCpu = run.sampler.read();
      if (rest?.firstError)
        invalid.push(`parley: REST chat.sendMessage failed: ${rest.firstError}`);
      const restLatency = latencyOf(mergeHists([rest?.hist ?? ""]));
      return {
        ddp,
        rest: {
          perSecond: Math.round(((rest?.count ?? 0) - (rest?.errors ?? 0)) / p.restS),
          errors: rest?.errors ?? 0,
          latency: restLatency,
          serverCores: Math.round(restCpu.cpuCores * 1000) / 1000,
        },
      };
    } finally {
      await gens.close();
    }
  });

  const best = (steps: readonly RateStep[]) => steps.filter((s) => s.sustained).at(-1) ?? null;
  const rawBest = best(rawSteps);
  const ddpBest = best(parley.ddp);
  const rawTop = Math.max(...rawSteps.map((s) => s.ackedPerSecond));
  return {
    scenario: "persistence",
    title: "5. Persistence ceiling",
    params: { ...p, rooms: ROOMS, members: MEMBERS },
    rows: [
      row(
        "sustained msg/s (DDP)",
        rawBest?.rate ?? null,
        ddpBest?.rate ?? 0,
        ">= 10000",
        (ddpBest?.rate ?? 0) >= 10_000,
      ),
      row("ack p99 there (ms)", rawBest?.ack.p99 ?? null, ddpBest?.ack.p99 ?? null, "<= 100 ms"),
      row("server CPU there (cores)", null, ddpBest?.serverCores ?? null),
      row("REST chat.sendMessage msg/s", rawTop, parley.rest.perSecond),
      row("REST p99 (ms)", null, parley.rest.latency.p99),
    ],
    raw: rawSteps,
    parley,
    invalid,
    notes: [
      "raw: a bare SQLite loop (WAL, synchronous=NORMAL, group commit) writing a message, its room and 10 subscriptions per message",
      "REST runs closed-loop (each connection waits for its answer), so its rate is what 50 connections get, compared with the raw loop's best",
    ],
  };
}

async function rawLoop(
  rates: readonly number[],
  stepS: number,
  rooms: number,
): Promise<RateStep[]> {
  const dir = mkdtempSync(join(tmpdir(), "raw-store-"));
  try {
    const proc = Bun.spawn(
      [
        ...pinning().server,
        process.execPath,
        "bench/raw/store-loop.ts",
        dir,
        rates.join(","),
        String(stepS),
        String(MEMBERS),
        String(rooms),
      ],
      {
        cwd: ROOT,
        stdout: "pipe",
        stderr: "inherit",
      },
    );
    const timer = setTimeout(() => proc.kill(9), (rates.length * stepS + 60) * 1000);
    const out = await new Response(proc.stdout).text();
    clearTimeout(timer);
    const { steps } = JSON.parse(out) as {
      steps: { rate: number; sent: number; ackedPerSecond: number; ack: Latency }[];
    };
    return steps.map((s) => ({
      ...s,
      sustained: s.sent >= 0.95 * s.rate * stepS && s.ack.p99 <= 100,
    }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
