/**
 * Scenario 4, big room: every client in one room, one member sending at rising rates,
 * then messages to `@all`. For each message it records when its first and its last
 * member received it: the spread between them is how long the slowest member waits
 * behind the fastest, which a room this size makes visible.
 */
import { Generators } from "../lib/generators.ts";
import { latencyOf, newHist, recordMs } from "../lib/measure.ts";
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

interface Phase {
  /** The sender's rate, in messages a second. */
  readonly rate: number;
  readonly kind: "chat" | "mention";
  readonly sent: number;
  readonly acked: number;
  readonly errors: number;
  readonly ackP99: number;
  /** Send-to-deliver over every receipt. */
  readonly p50: number;
  readonly p99: number;
  /** First-to-last receiver spread over the messages. */
  readonly spreadP50: number;
  readonly spreadP99: number;
  readonly spreadMax: number;
  readonly lossPct: number;
  readonly serverCores: number;
  readonly saturated: string | null;
}

export async function bigRoom(ctx: Context): Promise<Result> {
  const p = ctx.quick
    ? { clients: 50, rates: [2, 10], stepS: 2, mentions: 10, mentionRate: 5 }
    : { clients: 5000, rates: [2, 10, 50], stepS: 10, mentions: 100, mentionRate: 10 };
  const phases: Record<string, Phase[]> = {};
  const invalid: string[] = [];

  for (const side of SIDES) {
    phases[side] = await withServer(ctx, side, async (run) => {
      // Every pool user is a member; the connections are dealt to them in turn.
      const members = run.users.slice(0, p.clients);
      const [rid] = (await run.rooms(1, () => members, "big")) as [string];
      const specs = Array.from({ length: p.clients }, (_, i) => ({
        ...(members[i % members.length] as (typeof members)[number]),
        rid,
        subs: [["stream-room-messages", [rid, false]] as const],
      }));
      const gens = new Generators(generatorsFor(p.clients));
      const done: Phase[] = [];
      try {
        const connected = await gens.connect(run.server.url, specs);
        ctx.log(
          `  ${side}: ${connected.ok} of ${p.clients} in the room (${Math.round(connected.ms)} ms)`,
        );
        const plan = [
          ...p.rates.map((rate) => ({ rate, kind: "chat" as const, durationS: p.stepS })),
          { rate: p.mentionRate, kind: "mention" as const, durationS: p.mentions / p.mentionRate },
        ];
        for (const step of plan) {
          ctx.log(`  ${side}: ${step.kind} at ${step.rate} msg/s for ${step.durationS} s`);
          done.push(await phase(gens, run.sampler, step, p.clients));
        }
        invalid.push(
          ...invalidity(side, { ...(await gens.stats(false)), saturated: null }, p.clients),
        );
        for (const ph of done) {
          if (ph.saturated) invalid.push(`${side}: ${ph.kind} at ${ph.rate}/s: ${ph.saturated}`);
        }
        return done;
      } finally {
        await gens.close();
      }
    });
  }

  const at = (side: string, kind: Phase["kind"], rate?: number) =>
    (phases[side] ?? []).find((ph) => ph.kind === kind && (rate === undefined || ph.rate === rate));
  const rows = p.rates.flatMap((rate) => {
    const [raw, parley] = [at("raw", "chat", rate), at("parley", "chat", rate)];
    return [
      row(`${rate} msg/s: send-to-deliver p99 (ms)`, raw?.p99 ?? null, parley?.p99 ?? null),
      row(
        `${rate} msg/s: first-to-last spread p99 (ms)`,
        raw?.spreadP99 ?? null,
        parley?.spreadP99 ?? null,
      ),
      row(`${rate} msg/s: loss (%)`, raw?.lossPct ?? null, parley?.lossPct ?? null),
      row(
        `${rate} msg/s: unanswered after the drain (%)`,
        raw ? unanswered(raw) : null,
        parley ? unanswered(parley) : null,
      ),
      row(
        `${rate} msg/s: server CPU (cores)`,
        raw?.serverCores ?? null,
        parley?.serverCores ?? null,
      ),
    ];
  });
  const [rawAll, parleyAll] = [at("raw", "mention"), at("parley", "mention")];
  rows.push(
    row("@all: send-to-deliver p99 (ms)", rawAll?.p99 ?? null, parleyAll?.p99 ?? null),
    row(
      "@all: first-to-last spread p99 (ms)",
      rawAll?.spreadP99 ?? null,
      parleyAll?.spreadP99 ?? null,
    ),
    row("@all: ack p99 (ms)", rawAll?.ackP99 ?? null, parleyAll?.ackP99 ?? null),
    row("@all: loss (%)", rawAll?.lossPct ?? null, parleyAll?.lossPct ?? null),
    row(
      "@all: unanswered after the drain (%)",
      rawAll ? unanswered(rawAll) : null,
      parleyAll ? unanswered(parleyAll) : null,
    ),
    row("@all: errors", rawAll?.errors ?? null, parleyAll?.errors ?? null),
  );
  const plot = chartPng({
    title: `Big room of ${p.clients}: first-to-last receiver spread p99 against the sender's rate`,
    xLabel: "messages per second from the sender",
    yLabel: "spread p99 (ms, log)",
    logY: true,
    series: SIDES.map((side) => ({
      name: side,
      points: (phases[side] ?? [])
        .filter((ph) => ph.kind === "chat")
        .map((ph) => [ph.rate, Math.max(ph.spreadP99, 0.01)] as const),
    })),
  });
  return {
    scenario: "bigroom",
    title: "4. Big room",
    params: p,
    rows,
    raw: phases.raw,
    parley: phases.parley,
    invalid,
    notes: [
      `${p.stepS} s a rate; the @all messages go at ${p.mentionRate} a second`,
      "the raw relay treats @all as plain text: Parley also marks every member's subscription as mentioned",
      `the ${p.clients} connections belong to the pool's users in turn (seeding an account costs a bcrypt hash), so the room has as many members as the pool has users`,
      "spread: for each message, when its last member received it minus when its first did, over every generator (one clock on one machine)",
    ],
    plot: Buffer.from(plot).toString("base64"),
  };
}

/**
 * The share of a phase's messages still unanswered once it drained: those are neither
 * timed nor counted as lost, so a high share means the figures cover only the rest.
 */
function unanswered(phase: Phase): number {
  return phase.sent ? Math.round((1 - phase.acked / phase.sent) * 1000) / 10 : 0;
}

/** One phase: the sender at `rate` for `durationS`, then the deliveries settle. */
async function phase(
  gens: Generators,
  sampler: { reset(): void; read(): { cpuCores: number } },
  step: { rate: number; kind: Phase["kind"]; durationS: number },
  members: number,
): Promise<Phase> {
  await gens.stats(true);
  await gens.receipts(true);
  sampler.reset();
  // The sender is the first client, which the generators dealt to the first of them.
  await gens.each((g) => ({
    op: "load",
    actions: g === 0 ? [{ kind: step.kind, rate: step.rate, senders: [0] }] : [],
    durationMs: step.durationS * 1000,
    drainMs: 5000,
  }));
  const cpu = sampler.read();
  const calls = (await gens.stats(false)).calls[step.kind];
  const snap = await settle(gens, "stream-room-messages", (calls?.sent ?? 0) * members, 10_000);
  const receipts = await gens.receipts(false);
  const spread = newHist();
  for (const { first, last } of receipts.values()) recordMs(spread, last - first);
  const spreadOf = latencyOf(spread);
  const deliver = snap.streams["stream-room-messages"]?.latency;
  const expected = (calls?.acked ?? 0) * members;
  const lossPct = expected ? Math.max(0, (1 - (deliver?.count ?? 0) / expected) * 100) : 0;
  return {
    rate: step.rate,
    kind: step.kind,
    sent: calls?.sent ?? 0,
    acked: calls?.acked ?? 0,
    errors: calls?.errors ?? 0,
    ackP99: calls?.ack.p99 ?? 0,
    p50: deliver?.p50 ?? 0,
    p99: deliver?.p99 ?? 0,
    spreadP50: spreadOf.p50,
    spreadP99: spreadOf.p99,
    spreadMax: spreadOf.max,
    lossPct: Math.round(lossPct * 1000) / 1000,
    serverCores: Math.round(cpu.cpuCores * 1000) / 1000,
    saturated: snap.saturated,
  };
}
