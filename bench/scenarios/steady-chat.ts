/**
 * Scenario 2, steady chat: clients in rooms of 10, each sending one message a second;
 * every client listens to its room. Reports send-to-deliver and ack latency, loss, and
 * the server's CPU and memory over the measured window.
 */
import { Generators } from "../lib/generators.ts";
import { mb } from "./common.ts";
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

export async function steadyChat(ctx: Context): Promise<Result> {
  const p = ctx.quick
    ? { clients: 40, roomSize: 10, perClient: 1, warmS: 1, seconds: 3 }
    : { clients: 1000, roomSize: 10, perClient: 1, warmS: 5, seconds: 30 };
  const measured: Record<string, ReturnType<typeof summary>> = {};
  const invalid: string[] = [];

  for (const side of SIDES) {
    measured[side] = await withServer(ctx, side, async (run) => {
      const rooms = p.clients / p.roomSize;
      const userOf = (i: number) => run.users[i % run.users.length] as (typeof run.users)[number];
      const rids = await run.rooms(
        rooms,
        (r) => Array.from({ length: p.roomSize }, (_, k) => userOf(r * p.roomSize + k)),
        "steady",
      );
      const specs = Array.from({ length: p.clients }, (_, i) => {
        const user = userOf(i);
        const rid = rids[Math.floor(i / p.roomSize)] as string;
        return { ...user, rid, subs: [["stream-room-messages", [rid, false]] as const] };
      });
      const gens = new Generators(generatorsFor(p.clients));
      try {
        await gens.connect(run.server.url, specs);
        const actions = (g: number) => {
          const mine = specs.filter((_, i) => i % gens.count === g).length;
          return [
            {
              kind: "chat",
              rate: mine * p.perClient,
              senders: Array.from({ length: mine }, (_, i) => i),
            },
          ];
        };
        ctx.log(
          `  ${side}: warm-up ${p.warmS} s, then ${p.seconds} s at ${p.clients * p.perClient} msg/s`,
        );
        await gens.each((g) => ({
          op: "load",
          actions: actions(g),
          durationMs: p.warmS * 1000,
          drainMs: 3000,
        }));
        await gens.stats(true);
        run.sampler.reset();
        const loads = await gens.each<{ outstanding: number }>((g) => ({
          op: "load",
          actions: actions(g),
          durationMs: p.seconds * 1000,
          drainMs: 5000,
        }));
        const cpu = run.sampler.read();
        const sent = (await gens.stats(false)).calls.chat?.sent ?? 0;
        const snap = await settle(gens, "stream-room-messages", sent * p.roomSize);
        invalid.push(...invalidity(side, snap, p.clients));
        const unanswered = loads.reduce((sum, l) => sum + l.outstanding, 0);
        return summary(snap, sent, unanswered, p.roomSize, p.seconds, cpu);
      } finally {
        await gens.close();
      }
    });
  }

  const raw = measured.raw as ReturnType<typeof summary>;
  const parley = measured.parley as ReturnType<typeof summary>;
  const target = Math.max(10 * raw.deliver.p99, 25);
  return {
    scenario: "steady",
    title: "2. Steady chat",
    params: p,
    rows: [
      row("send-to-deliver p50 (ms)", raw.deliver.p50, parley.deliver.p50),
      row("send-to-deliver p95 (ms)", raw.deliver.p95, parley.deliver.p95),
      row(
        "send-to-deliver p99 (ms)",
        raw.deliver.p99,
        parley.deliver.p99,
        `<= ${target.toFixed(1)} ms`,
        parley.deliver.p99 <= target,
      ),
      row("ack p99 (ms)", raw.ack.p99, parley.ack.p99),
      row("loss of answered messages (%)", raw.lossPct, parley.lossPct, "0", parley.lossPct === 0),
      row(
        "unanswered after 5 s drain (%)",
        raw.unansweredPct,
        parley.unansweredPct,
        "0",
        parley.unansweredPct === 0,
      ),
      row(
        "server CPU (cores)",
        raw.cpuCores,
        parley.cpuCores,
        `<= 0.5 at ${p.clients * p.perClient} msg/s`,
        parley.cpuCores <= 0.5,
      ),
      row("server RSS (MB)", raw.rssMb, parley.rssMb),
    ],
    raw,
    parley,
    invalid,
    notes: [
      `${p.warmS} s warm-up, then a ${p.seconds} s window; every message persisted on Parley`,
    ],
  };
}

function summary(
  snap: Awaited<ReturnType<Generators["stats"]>>,
  sent: number,
  unanswered: number,
  roomSize: number,
  seconds: number,
  cpu: { cpuCores: number; rssBytes: number },
) {
  const deliver = snap.streams["stream-room-messages"]?.latency ?? {
    count: 0,
    p50: 0,
    p95: 0,
    p99: 0,
    max: 0,
    mean: 0,
  };
  const chat = snap.calls.chat;
  const acked = chat?.acked ?? 0;
  // Lost: answered messages some member never received. Unanswered ones are a backlog.
  const expected = acked * roomSize;
  return {
    sent,
    sentPerSecond: sent / seconds,
    acked,
    unansweredPct: sent ? Math.round((unanswered / sent) * 1e5) / 1e3 : 0,
    errors: chat?.errors ?? 0,
    firstError: chat?.firstError ?? null,
    delivered: deliver.count,
    lossPct: expected ? Math.max(0, Math.round((1 - deliver.count / expected) * 1e5) / 1e3) : 0,
    deliver,
    ack: chat?.ack ?? deliver,
    cpuCores: Math.round(cpu.cpuCores * 1000) / 1000,
    rssMb: mb(cpu.rssBytes),
    generatorCores: snap.generatorCores,
    generatorLagP99Ms: snap.lagP99Ms,
  };
}
