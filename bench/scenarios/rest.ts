/**
 * Scenario 8, REST: connections sending one request back to back for a window, per
 * route: `GET /api/info`, `GET /api/v1/me`, `channels.history` (50 newest) of a room
 * holding many messages, and `chat.sendMessage`. The raw reference answers the same
 * routes from memory with a bare Bun.serve handler. Reports req/s, p50/p99 and errors.
 */
import { Generators } from "../lib/generators.ts";
import { latencyOf, mergeHists } from "../lib/measure.ts";
import { inLanes, rest } from "../lib/seed.ts";
import { type Context, type Result, type Row, row, SIDES, withServer } from "./common.ts";

const ROUTES = ["info", "me", "history", "send"] as const;
type Route = (typeof ROUTES)[number];

export async function restCalls(ctx: Context): Promise<Result> {
  const p = ctx.quick
    ? { connections: 10, seconds: 1, historyMessages: 100 }
    : { connections: 100, seconds: 8, historyMessages: 10_000 };
  const out: Record<string, Record<Route, ReturnType<typeof measure>>> = {};
  const invalid: string[] = [];

  for (const side of SIDES) {
    out[side] = await withServer(ctx, side, async (run) => {
      const user = run.users[0] as (typeof run.users)[number];
      const [rid] = await run.rooms(1, () => run.users.slice(0, 10), "rest");
      const auth = { "X-User-Id": user.uid, "X-Auth-Token": user.token };
      if (side === "parley") {
        ctx.log(`  parley: filling a room with ${p.historyMessages} messages`);
        const seq = Array.from({ length: p.historyMessages }, (_, i) => i);
        await inLanes(seq, 20, (i) =>
          rest(
            run.server.url,
            "chat.sendMessage",
            { message: { rid, msg: `history message ${i}` } },
            { uid: user.uid, token: user.token },
          ),
        );
      }
      const requests: Record<
        Route,
        { method: string; path: string; headers?: Record<string, string>; body?: string }
      > = {
        info: { method: "GET", path: "/api/info" },
        me: { method: "GET", path: "/api/v1/me", headers: auth },
        history: {
          method: "GET",
          path: `/api/v1/channels.history?roomId=${rid}&count=50`,
          headers: auth,
        },
        send: {
          method: "POST",
          path: "/api/v1/chat.sendMessage",
          headers: { ...auth, "Content-Type": "application/json" },
          body: JSON.stringify({ message: { rid, msg: "sent by the REST benchmark" } }),
        },
      };
      const gens = new Generators(1);
      const results = {} as Record<Route, ReturnType<typeof measure>>;
      try {
        for (const route of ROUTES) {
          ctx.log(`  ${side}: ${route}, ${p.connections} connections for ${p.seconds} s`);
          await gens.stats(true);
          run.sampler.reset();
          const [answer] = await gens.each<{
            count: number;
            errors: number;
            firstError: string | null;
            hist: string;
          }>(() => ({
            op: "http",
            base: run.server.url,
            requests: [requests[route]],
            concurrency: p.connections,
            durationMs: p.seconds * 1000,
          }));
          const cpu = run.sampler.read();
          const snap = await gens.stats(true);
          if (snap.saturated) invalid.push(`${side} ${route}: ${snap.saturated}`);
          results[route] = measure(answer as NonNullable<typeof answer>, p.seconds, cpu.cpuCores);
        }
        return results;
      } finally {
        await gens.close();
      }
    });
  }
  const raw = out.raw as Record<Route, ReturnType<typeof measure>>;
  const parley = out.parley as Record<Route, ReturnType<typeof measure>>;
  const targets: Partial<Record<Route, number>> = { info: 0.5, history: 0.2 };
  const rows: Row[] = [];
  for (const route of ROUTES) {
    const share = targets[route];
    const met =
      share === undefined ? undefined : parley[route].perSecond >= share * raw[route].perSecond;
    rows.push(
      row(
        `${route}: req/s`,
        raw[route].perSecond,
        parley[route].perSecond,
        share === undefined ? undefined : `>= ${share * 100}% of raw`,
        met,
      ),
    );
    rows.push(row(`${route}: p99 (ms)`, raw[route].latency.p99, parley[route].latency.p99));
    rows.push(
      row(
        `${route}: errors`,
        raw[route].errors,
        parley[route].errors,
        "0",
        parley[route].errors === 0,
      ),
    );
  }
  for (const route of ROUTES)
    if (parley[route].firstError) invalid.push(`parley ${route}: ${parley[route].firstError}`);
  return {
    scenario: "rest",
    title: "8. REST",
    params: p,
    rows,
    raw,
    parley,
    invalid,
    notes: [
      `${p.seconds} s per route (benchmarks.md says 30 s; shortened to keep the whole run under 20 minutes); history reads the 50 newest of ${p.historyMessages} messages`,
    ],
  };
}

function measure(
  answer: { count: number; errors: number; firstError: string | null; hist: string },
  seconds: number,
  cpuCores: number,
) {
  return {
    requests: answer.count,
    perSecond: Math.round(answer.count / seconds),
    errors: answer.errors,
    firstError: answer.firstError,
    latency: latencyOf(mergeHists([answer.hist])),
    serverCores: Math.round(cpuCores * 1000) / 1000,
  };
}
