/**
 * Scenario 6, reconnect storm: clients logged in and subscribed (user stream, their room,
 * and the presence of their room-mates, as Rocket.Chat's web client watches the users
 * it shows), then `kill -9` of the server, a restart on the same port and data, and every
 * client redialling after a random 0 to 1 s pause, backing off exponentially while refused.
 * Reports the time until all are back and resubscribed, the new server's peak CPU, and
 * the presence frames the clients received meanwhile. Plots clients back against time.
 */
import { Generators } from "../lib/generators.ts";
import { now } from "../lib/measure.ts";
import { chartPng } from "../lib/plot.ts";
import { ProcSampler } from "../lib/procs.ts";
import {
  type Context,
  generatorsFor,
  invalidity,
  mb,
  type Result,
  row,
  SIDES,
  withServer,
} from "./common.ts";

interface Storm {
  readonly clients: number;
  readonly dropped: number;
  readonly back: number;
  readonly restartMs: number;
  readonly allBackMs: number | null;
  readonly afterRestartMs: number | null;
  readonly peakCores: number;
  readonly rssMb: number;
  readonly presenceFrames: number;
  readonly redials: number;
  readonly curve: [number, number][];
}

export async function reconnectStorm(ctx: Context): Promise<Result> {
  const p = ctx.quick
    ? { clients: 100, roomSize: 10, jitterMs: 1000, deadlineS: 30 }
    : { clients: 10_000, roomSize: 50, jitterMs: 1000, deadlineS: 120 };
  const storms: Record<string, Storm> = {};
  const invalid: string[] = [];

  for (const side of SIDES) {
    storms[side] = await withServer(ctx, side, async (run) => {
      const userOf = (i: number) => run.users[i % run.users.length] as (typeof run.users)[number];
      const roomUsers = (r: number) =>
        Array.from({ length: p.roomSize }, (_, k) => userOf(r * p.roomSize + k));
      const rids = await run.rooms(p.clients / p.roomSize, roomUsers, "storm");
      const specs = Array.from({ length: p.clients }, (_, i) => {
        const user = userOf(i);
        const r = Math.floor(i / p.roomSize);
        const mates = roomUsers(r)
          .map((u) => u.uid)
          .filter((uid) => uid !== user.uid);
        return {
          ...user,
          subs: [
            ["stream-notify-user", [`${user.uid}/message`, false]] as const,
            ["stream-room-messages", [rids[r] as string, false]] as const,
            ["stream-user-presence", ["", { added: mates }]] as const,
          ],
        };
      });
      const gens = new Generators(generatorsFor(p.clients));
      try {
        ctx.log(`  ${side}: ${p.clients} clients connect`);
        const conn = await gens.connect(run.server.url, specs, 200);
        if (conn.failed)
          invalid.push(`${side}: ${conn.failed} clients never connected before the kill`);
        await gens.stats(true);
        const wsUrl = `${run.server.url.replace(/^http/, "ws")}/websocket`;
        await gens.each(() => ({
          op: "storm",
          url: wsUrl,
          jitterMs: p.jitterMs,
          deadlineMs: p.deadlineS * 1000,
        }));
        ctx.log(`  ${side}: kill -9, restart, ${p.clients} clients redial`);
        let killedAt = 0;
        const server = await run.killAndRestart(() => {
          killedAt = now();
        });
        const upAt = now();
        const sampler = new ProcSampler(server.pid);
        const waits = await gens.each<{
          back: number;
          dropped: number;
          readyAt: number[];
          redials: number;
        }>(() => ({
          op: "stormWait",
          timeoutMs: p.deadlineS * 1000,
        }));
        const cpu = sampler.read();
        sampler.stop();
        const snap = await gens.stats(true);
        invalid.push(...invalidity(side, snap, p.clients));
        const readyAt = waits.flatMap((w) => w.readyAt).sort((a, b) => a - b);
        const back = readyAt.length;
        const last = readyAt.at(-1);
        const curve: [number, number][] = [[0, 0]];
        const stride = Math.max(1, Math.floor(back / 200));
        for (let i = 0; i < back; i += stride)
          curve.push([((readyAt[i] as number) - killedAt) / 1000, i + 1]);
        if (last !== undefined) curve.push([(last - killedAt) / 1000, back]);
        const complete = back === p.clients;
        return {
          clients: p.clients,
          dropped: waits.reduce((s, w) => s + w.dropped, 0),
          back,
          restartMs: Math.round(upAt - killedAt),
          allBackMs: complete && last ? Math.round(last - killedAt) : null,
          afterRestartMs: complete && last ? Math.round(last - upAt) : null,
          peakCores: Math.round(cpu.peakCores * 100) / 100,
          rssMb: mb(cpu.peakRssBytes),
          presenceFrames: snap.streams["stream-user-presence"]?.frames ?? 0,
          redials: waits.reduce((s, w) => s + w.redials, 0),
          curve,
        };
      } finally {
        await gens.close();
      }
    });
  }
  const raw = storms.raw as Storm;
  const parley = storms.parley as Storm;
  const plot = chartPng({
    title: `Reconnect storm: ${p.clients} clients back after kill -9 and restart`,
    xLabel: "seconds since kill -9",
    yLabel: "clients logged in and resubscribed",
    series: SIDES.map((side) => ({ name: side, points: (storms[side] as Storm).curve })),
  });
  return {
    scenario: "storm",
    title: "6. Reconnect storm",
    params: p,
    rows: [
      row("clients back", raw.back, parley.back, `all ${p.clients}`, parley.back === p.clients),
      row(
        "all back after kill (ms)",
        raw.allBackMs,
        parley.allBackMs,
        "<= 3x raw",
        raw.allBackMs !== null &&
          parley.allBackMs !== null &&
          parley.allBackMs <= 3 * raw.allBackMs,
      ),
      row("restart until listening (ms)", raw.restartMs, parley.restartMs),
      row("peak server CPU (cores)", raw.peakCores, parley.peakCores),
      row("peak server RSS (MB)", raw.rssMb, parley.rssMb),
      row("presence frames received", raw.presenceFrames, parley.presenceFrames),
      row(
        "presence frames per client",
        raw.presenceFrames / p.clients,
        parley.presenceFrames / p.clients,
      ),
    ],
    raw,
    parley,
    invalid,
    notes: [
      `${p.clients} connections over ${ctx.template.users.length} pool users; each watches the presence of its ${p.roomSize - 1} room-mates`,
      "the raw relay sends no presence on reconnect, so its presence count is 0",
    ],
    plot: Buffer.from(plot).toString("base64"),
  };
}
