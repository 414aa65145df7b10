/**
 * Scenario 7, presence and typing storm: clients in rooms of 50, each watching its
 * room-mates' presence and its room's typing events; 10 % of the clients change status
 * every 10 s (the status text carries the send time) and 2 typing events a second go out
 * in each of 100 rooms. Reports deliveries/s and p99 of both, and frames per status change.
 */
import { Generators } from "../lib/generators.ts";
import {
  type Context,
  generatorsFor,
  invalidity,
  type Result,
  row,
  SIDES,
  withServer,
} from "./common.ts";

export async function presenceStorm(ctx: Context): Promise<Result> {
  const p = ctx.quick
    ? {
        clients: 100,
        roomSize: 50,
        statusShare: 0.1,
        statusEveryS: 10,
        typingPerRoom: 2,
        seconds: 3,
      }
    : {
        clients: 5000,
        roomSize: 50,
        statusShare: 0.1,
        statusEveryS: 10,
        typingPerRoom: 2,
        seconds: 30,
      };
  const rooms = p.clients / p.roomSize;
  const out: Record<string, ReturnType<typeof measure>> = {};
  const invalid: string[] = [];

  for (const side of SIDES) {
    out[side] = await withServer(ctx, side, async (run) => {
      const userOf = (i: number) => run.users[i % run.users.length] as (typeof run.users)[number];
      const roomUsers = (r: number) =>
        Array.from({ length: p.roomSize }, (_, k) => userOf(r * p.roomSize + k));
      const rids = await run.rooms(rooms, roomUsers, "presence");
      const specs = Array.from({ length: p.clients }, (_, i) => {
        const user = userOf(i);
        const r = Math.floor(i / p.roomSize);
        const rid = rids[r] as string;
        const mates = roomUsers(r)
          .map((u) => u.uid)
          .filter((uid) => uid !== user.uid);
        return {
          ...user,
          rid,
          subs: [
            ["stream-user-presence", ["", { added: mates }]] as const,
            ["stream-notify-room", [`${rid}/user-activity`, false]] as const,
          ],
        };
      });
      const gens = new Generators(generatorsFor(p.clients));
      try {
        ctx.log(`  ${side}: ${p.clients} clients, ${p.seconds} s of status changes and typing`);
        await gens.connect(run.server.url, specs, 200);
        await gens.stats(true);
        run.sampler.reset();
        await gens.each((g) => {
          const mine = specs.filter((_, i) => i % gens.count === g).length;
          const senders = Array.from({ length: mine }, (_, i) => i);
          const share = mine / p.clients;
          return {
            op: "load",
            actions: [
              {
                kind: "status",
                rate: (p.clients * p.statusShare * share) / p.statusEveryS,
                senders,
              },
              { kind: "typing", rate: rooms * p.typingPerRoom * share, senders },
            ],
            durationMs: p.seconds * 1000,
            drainMs: 5000,
          };
        });
        const cpu = run.sampler.read();
        await Bun.sleep(1000);
        const snap = await gens.stats(true);
        invalid.push(...invalidity(side, snap, p.clients));
        return measure(snap, p.seconds, cpu.cpuCores);
      } finally {
        await gens.close();
      }
    });
  }
  const raw = out.raw as ReturnType<typeof measure>;
  const parley = out.parley as ReturnType<typeof measure>;
  return {
    scenario: "presence",
    title: "7. Presence and typing storm",
    params: p,
    rows: [
      row("status changes sent", raw.statusSent, parley.statusSent),
      row("presence deliveries/s", raw.presencePerSecond, parley.presencePerSecond),
      row("presence p99 (ms)", raw.presence.p99, parley.presence.p99),
      row("frames per status change", raw.framesPerChange, parley.framesPerChange),
      row("typing deliveries/s", raw.typingPerSecond, parley.typingPerSecond),
      row("typing p99 (ms)", raw.typing.p99, parley.typing.p99),
      row("server CPU (cores)", raw.cpuCores, parley.cpuCores),
    ],
    raw,
    parley,
    invalid,
    notes: [
      `${p.clients} connections over ${ctx.template.users.length} pool users, so a user's status is watched by every connection that has them as a room-mate`,
      "Parley sends nothing when a status is set to what it already is; the raw relay always relays",
    ],
  };
}

function measure(
  snap: Awaited<ReturnType<Generators["stats"]>>,
  seconds: number,
  cpuCores: number,
) {
  const presence = snap.streams["stream-user-presence"];
  const typing = snap.streams["stream-notify-room"];
  const statusSent = snap.calls.status?.sent ?? 0;
  const empty = { count: 0, p50: 0, p95: 0, p99: 0, max: 0, mean: 0 };
  return {
    statusSent,
    statusErrors: snap.calls.status?.errors ?? 0,
    statusFirstError: snap.calls.status?.firstError ?? null,
    typingSent: snap.calls.typing?.sent ?? 0,
    typingErrors: snap.calls.typing?.errors ?? 0,
    typingFirstError: snap.calls.typing?.firstError ?? null,
    presenceFrames: presence?.frames ?? 0,
    presencePerSecond: Math.round((presence?.frames ?? 0) / seconds),
    presence: presence?.latency ?? empty,
    framesPerChange: statusSent ? Math.round(((presence?.frames ?? 0) / statusSent) * 10) / 10 : 0,
    typingFrames: typing?.frames ?? 0,
    typingPerSecond: Math.round((typing?.frames ?? 0) / seconds),
    typing: typing?.latency ?? empty,
    cpuCores: Math.round(cpuCores * 1000) / 1000,
    generatorCores: snap.generatorCores,
  };
}
