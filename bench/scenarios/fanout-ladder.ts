/**
 * Scenario 3, fan-out ladder: clients in rooms of 100, every client sending at a rate
 * that doubles each step. A step fails when p99 send-to-deliver passes 250 ms, more than
 * 0.1 % of deliveries are lost, or calls are still unanswered after the drain (a growing
 * backlog); the knee is the last step that passed. Plots p99 against deliveries/s.
 */
import { Generators, type Snapshot } from "../lib/generators.ts";
import { chartPng } from "../lib/plot.ts";
import {
  type Context,
  generatorsFor,
  invalidity,
  type Result,
  row,
  SIDES,
  settle,
  withServer,
} from "./common.ts";

interface Step {
  readonly perClient: number;
  readonly inPerSecond: number;
  readonly deliveriesPerSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly lossPct: number;
  readonly backlog: number;
  readonly serverCores: number;
  readonly generatorCores: number;
  readonly saturated: string | null;
  readonly passed: boolean;
}

export async function fanoutLadder(ctx: Context): Promise<Result> {
  const p = ctx.quick
    ? { clients: 20, roomSize: 10, steps: [0.5, 1], stepS: 2 }
    : { clients: 1000, roomSize: 100, steps: [0.1, 0.2, 0.5, 1, 2, 4, 8, 16], stepS: 10 };
  const ladders: Record<string, Step[]> = {};
  const invalid: string[] = [];

  for (const side of SIDES) {
    ladders[side] = await withServer(ctx, side, async (run) => {
      const userOf = (i: number) => run.users[i % run.users.length] as (typeof run.users)[number];
      const rids = await run.rooms(
        p.clients / p.roomSize,
        (r) => Array.from({ length: p.roomSize }, (_, k) => userOf(r * p.roomSize + k)),
        "ladder",
      );
      const specs = Array.from({ length: p.clients }, (_, i) => {
        const rid = rids[Math.floor(i / p.roomSize)] as string;
        return { ...userOf(i), rid, subs: [["stream-room-messages", [rid, false]] as const] };
      });
      const gens = new Generators(generatorsFor(p.clients));
      const steps: Step[] = [];
      try {
        await gens.connect(run.server.url, specs);
        for (const perClient of p.steps) {
          ctx.log(`  ${side}: ${perClient} msg/s per client (${perClient * p.clients} in)`);
          await gens.stats(true);
          run.sampler.reset();
          const loads = await gens.each<{ outstanding: number }>((g) => {
            const mine = specs.filter((_, i) => i % gens.count === g).length;
            const senders = Array.from({ length: mine }, (_, i) => i);
            return {
              op: "load",
              actions: [{ kind: "chat", rate: mine * perClient, senders }],
              durationMs: p.stepS * 1000,
              drainMs: 3000,
            };
          });
          const cpu = run.sampler.read();
          const sent = (await gens.stats(false)).calls.chat?.sent ?? 0;
          const snap = await settle(gens, "stream-room-messages", sent * p.roomSize, 5000);
          const step = stepOf(
            perClient,
            p,
            snap,
            sent,
            loads.reduce((s, l) => s + l.outstanding, 0),
            cpu.cpuCores,
          );
          steps.push(step);
          if (!step.passed) break;
        }
        invalid.push(
          ...invalidity(side, { ...(await gens.stats(false)), saturated: null }, p.clients),
        );
        const saturatedAtKnee = steps.filter((s) => s.passed).at(-1)?.saturated;
        if (saturatedAtKnee) invalid.push(`${side}: at its knee, ${saturatedAtKnee}`);
        const stop = steps.at(-1);
        if (stop && !stop.passed && stop.saturated) {
          invalid.push(`${side}: the step that stopped the ladder had ${stop.saturated}`);
        }
        return steps;
      } finally {
        await gens.close();
      }
    });
  }

  const knee = (steps: Step[]) => steps.filter((s) => s.passed).at(-1) ?? null;
  const rawKnee = knee(ladders.raw ?? []);
  const parleyKnee = knee(ladders.parley ?? []);
  const rawTop = Math.max(0, ...(ladders.raw ?? []).map((s) => s.deliveriesPerSecond));
  const plot = chartPng({
    title: "Fan-out ladder: p99 send-to-deliver against deliveries/s",
    xLabel: "deliveries per second",
    yLabel: "p99 latency (ms, log)",
    logY: true,
    series: SIDES.map((side) => ({
      name: side,
      points: (ladders[side] ?? []).map((s) => [s.deliveriesPerSecond, s.p99] as const),
    })),
  });
  const rawDps = rawKnee?.deliveriesPerSecond ?? null;
  const parleyDps = parleyKnee?.deliveriesPerSecond ?? 0;
  return {
    scenario: "ladder",
    title: "3. Fan-out ladder",
    params: p,
    rows: [
      row(
        "knee: deliveries/s",
        rawDps,
        parleyDps,
        ">= 10% of raw",
        rawDps !== null && parleyDps >= 0.1 * rawDps,
      ),
      row("knee: msg/s in", rawKnee?.inPerSecond ?? null, parleyKnee?.inPerSecond ?? 0),
      row(
        "knee: p99 (ms)",
        rawKnee?.p99 ?? null,
        parleyKnee?.p99 ?? null,
        "<= 250 ms",
        (parleyKnee?.p99 ?? Infinity) <= 250,
      ),
      row(
        "knee: server CPU (cores)",
        rawKnee?.serverCores ?? null,
        parleyKnee?.serverCores ?? null,
      ),
      row(
        "highest deliveries/s seen",
        rawTop,
        Math.max(0, ...(ladders.parley ?? []).map((s) => s.deliveriesPerSecond)),
      ),
    ],
    raw: ladders.raw,
    parley: ladders.parley,
    invalid,
    notes: [
      `${p.stepS} s a step (benchmarks.md says 30 s; shortened to keep the whole run under 20 minutes)`,
      "steps of 0.1 and 0.2 msg/s per client come before the protocol's 0.5, so that a server slower than 500 msg/s still shows a knee",
      "the raw relay's knee is often where the generator saturates, not the relay: then its ratio is a lower bound of the truth",
    ],
    plot: Buffer.from(plot).toString("base64"),
  };
}

function stepOf(
  perClient: number,
  p: { clients: number; roomSize: number; stepS: number },
  snap: Snapshot,
  sent: number,
  backlog: number,
  serverCores: number,
): Step {
  const deliver = snap.streams["stream-room-messages"]?.latency;
  const delivered = deliver?.count ?? 0;
  // Lost: answered messages some member never received; unanswered ones are the backlog.
  const expected = (snap.calls.chat?.acked ?? 0) * p.roomSize;
  const lossPct = expected ? Math.max(0, (1 - delivered / expected) * 100) : 0;
  const p99 = deliver?.p99 ?? 0;
  return {
    perClient,
    inPerSecond: sent / p.stepS,
    deliveriesPerSecond: Math.round(delivered / p.stepS),
    p50: deliver?.p50 ?? 0,
    p99,
    lossPct: Math.round(lossPct * 1000) / 1000,
    backlog,
    serverCores: Math.round(serverCores * 1000) / 1000,
    generatorCores: Math.round(snap.generatorCores * 1000) / 1000,
    saturated: snap.saturated,
    passed: p99 <= 250 && lossPct <= 0.1 && backlog === 0 && delivered > 0,
  };
}
