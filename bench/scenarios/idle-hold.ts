/**
 * Scenario 1, idle hold: connections that log in by resume token and subscribe to their
 * user stream and 5 rooms, then sit idle. Reports memory per connection (server RSS
 * growth over the empty server), the connect+login+subscribe rate, and idle CPU.
 */
import { Generators } from "../lib/generators.ts";
import {
  type Context,
  generatorsFor,
  invalidity,
  mb,
  type Result,
  type Row,
  row,
  SIDES,
  withServer,
} from "./common.ts";

const ROOMS = 50;
const ROOMS_PER_USER = 5;

export async function idleHold(ctx: Context): Promise<Result> {
  const p = ctx.quick ? { sizes: [60], holdS: 2 } : { sizes: [1000, 5000, 19_500], holdS: 20 };
  const rows: Row[] = [];
  const invalid: string[] = [];
  const all: Record<string, Record<number, ReturnType<typeof measure>>> = { raw: {}, parley: {} };

  for (const size of p.sizes) {
    for (const side of SIDES) {
      (all[side] as Record<number, unknown>)[size] = await withServer(ctx, side, async (run) => {
        const users = run.users;
        // User u is in the rooms r with r ≡ u (mod 10): 5 of the 50.
        const rids = await run.rooms(
          ROOMS,
          (r) =>
            users.filter((_, u) => u % (ROOMS / ROOMS_PER_USER) === r % (ROOMS / ROOMS_PER_USER)),
          "idle",
        );
        const specs = Array.from({ length: size }, (_, i) => {
          const u = i % users.length;
          const user = users[u] as (typeof users)[number];
          const mine = Array.from(
            { length: ROOMS_PER_USER },
            (_, k) => rids[(u % 10) + 10 * k] as string,
          );
          return {
            ...user,
            subs: [
              ["stream-notify-user", [`${user.uid}/message`, false]] as const,
              ...mine.map((rid) => ["stream-room-messages", [rid, false]] as const),
            ],
          };
        });
        await Bun.sleep(500);
        const before = run.sampler.read().rssBytes;
        const gens = new Generators(generatorsFor(size));
        try {
          ctx.log(`  ${side}: ${size} connections, then ${p.holdS} s idle`);
          const conn = await gens.connect(run.server.url, specs, 200);
          await gens.stats(true);
          run.sampler.reset();
          await Bun.sleep(p.holdS * 1000);
          const cpu = run.sampler.read();
          const snap = await gens.stats(true);
          invalid.push(...invalidity(side, snap, size).map((w) => `${size}: ${w}`));
          return measure(size, conn, before, cpu);
        } finally {
          await gens.close();
        }
      });
    }
    const raw = all.raw?.[size] as ReturnType<typeof measure>;
    const parley = all.parley?.[size] as ReturnType<typeof measure>;
    const isTop = size === Math.max(...p.sizes);
    rows.push(
      row(
        `${size}: bytes/connection`,
        raw.bytesPerConnection,
        parley.bytesPerConnection,
        isTop ? "<= 10x raw" : undefined,
        isTop ? parley.bytesPerConnection <= 10 * raw.bytesPerConnection : undefined,
      ),
      row(`${size}: connect+login+sub /s`, raw.connectPerSecond, parley.connectPerSecond),
      row(`${size}: idle CPU (cores)`, raw.idleCores, parley.idleCores),
      row(`${size}: server RSS (MB)`, raw.rssMb, parley.rssMb),
      row(`${size}: connected`, raw.connected, parley.connected),
    );
  }
  return {
    scenario: "idle",
    title: "1. Idle hold",
    params: {
      ...p,
      rooms: ROOMS,
      roomsPerConnection: ROOMS_PER_USER,
      poolUsers: ctx.template.users.length,
    },
    rows,
    raw: all.raw,
    parley: all.parley,
    invalid,
    notes: [
      `each connection logs in by resume token and subscribes to its user stream and ${ROOMS_PER_USER} rooms; held ${p.holdS} s (benchmarks.md says 120 s; shortened to keep the whole run under 20 minutes)`,
    ],
  };
}

function measure(
  size: number,
  conn: { ok: number; failed: number; ms: number; failures: Record<string, number> },
  before: number,
  cpu: { cpuCores: number; rssBytes: number },
) {
  return {
    connected: conn.ok,
    failed: conn.failed,
    failures: conn.failures,
    connectMs: Math.round(conn.ms),
    connectPerSecond: Math.round(conn.ok / (conn.ms / 1000)),
    bytesPerConnection: Math.round((cpu.rssBytes - before) / Math.max(1, conn.ok)),
    idleCores: Math.round(cpu.cpuCores * 1000) / 1000,
    rssMb: mb(cpu.rssBytes),
    size,
  };
}
