/**
 * What every scenario shares: its context (quick or full, the seeded template, a log),
 * one server run on either side (raw reference or Parley, on fresh data), pool users
 * dealt to connections, and the wait for deliveries to settle after a load window.
 */
import { rmSync } from "node:fs";
import type { Generators, Snapshot } from "../lib/generators.ts";
import { ProcSampler, type Server, startServer, stopServer } from "../lib/procs.ts";
import {
  createRooms,
  freshDataDir,
  type PoolUser,
  rawUsers,
  startParley,
  type Template,
} from "../lib/seed.ts";

/** Which server a run measures. */
export type Side = "raw" | "parley";
export const SIDES: readonly Side[] = ["raw", "parley"];

/** What a scenario gets from the driver. */
export interface Context {
  readonly quick: boolean;
  readonly template: Template;
  readonly log: (line: string) => void;
}

/** One row of a scenario's table: a measure on both sides, their ratio and its target. */
export interface Row {
  readonly metric: string;
  readonly raw: number | string | null;
  readonly parley: number | string | null;
  /** parley / raw, or null when it says nothing. */
  readonly ratio: number | null;
  readonly target?: string;
  /** Whether Parley meets the target; absent when there is none. */
  readonly met?: boolean;
}

/** What a scenario returns: its parameters, its table, everything measured, and validity. */
export interface Result {
  readonly scenario: string;
  readonly title: string;
  readonly params: Record<string, unknown>;
  readonly rows: Row[];
  readonly raw: unknown;
  readonly parley: unknown;
  /** Why the run is invalid (a saturated generator, clients that never connected), if so. */
  readonly invalid: string[];
  readonly notes: string[];
  readonly plot?: string;
}

/** A row with its ratio computed (null when either side is missing or raw is 0). */
export function row(
  metric: string,
  raw: number | null,
  parley: number | null,
  target?: string,
  met?: boolean,
): Row {
  const round = (v: number | null) => (v === null ? null : Math.round(v * 1000) / 1000);
  const ratio = raw && parley !== null ? parley / raw : null;
  return { metric, raw: round(raw), parley: round(parley), ratio: round(ratio), target, met };
}

/** The server of one side, its users, a CPU/RSS sampler and a way to make rooms. */
export interface Run {
  readonly side: Side;
  /** The server; `restart` replaces it. */
  server: Server;
  readonly users: readonly PoolUser[];
  readonly sampler: ProcSampler;
  readonly dataDir: string | null;
  rooms(
    count: number,
    members: (room: number) => readonly PoolUser[],
    prefix: string,
  ): Promise<string[]>;
  /** Kills the server with SIGKILL and starts it again on the same port and data. */
  killAndRestart(onKilled: () => void): Promise<Server>;
}

/** Starts the side's server (on `port`, 0 for any), runs `body`, and always stops it. */
export async function withServer<T>(
  ctx: Context,
  side: Side,
  body: (run: Run) => Promise<T>,
): Promise<T> {
  const dataDir = side === "parley" ? freshDataDir(ctx.template) : null;
  const start = (port: number) =>
    dataDir
      ? startParley(dataDir, port)
      : startServer("raw", ["bench/raw/relay.ts"], { PORT: String(port) });
  const server = await start(0);
  const users = side === "parley" ? ctx.template.users : rawUsers(ctx.template.users.length);
  const sampler = new ProcSampler(server.pid);
  const run: Run = {
    side,
    server,
    users,
    sampler,
    dataDir,
    rooms: (count, members, prefix) =>
      side === "parley"
        ? createRooms(server.url, ctx.template, count, members, prefix)
        : Promise.resolve(Array.from({ length: count }, (_, r) => `${prefix}${r}`)),
    async killAndRestart(onKilled) {
      run.server.proc.kill(9);
      await run.server.proc.exited;
      onKilled();
      run.server = await start(run.server.port);
      return run.server;
    },
  };
  try {
    return await body(run);
  } finally {
    sampler.stop();
    await stopServer(run.server).catch(() => {});
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
}

/** How many generator processes `clients` connections need (each under the open-file limit). */
export function generatorsFor(clients: number): number {
  return Math.max(1, Math.ceil(clients / 9_000));
}

/**
 * Waits (at most `maxMs`) until the generators have received `expected` timed frames of
 * `collection`, or the count has not moved for a second; resolves with that snapshot.
 */
export async function settle(
  gens: Generators,
  collection: string,
  expected: number,
  maxMs = 10_000,
): Promise<Snapshot> {
  const end = Date.now() + maxMs;
  let last = -1;
  let still = Date.now();
  for (;;) {
    const snap = await gens.stats(false);
    const seen = snap.streams[collection]?.latency.count ?? 0;
    if (seen >= expected || Date.now() > end) return snap;
    if (seen !== last) {
      last = seen;
      still = Date.now();
    } else if (Date.now() - still > 1_000) return snap;
    await Bun.sleep(100);
  }
}

/** Reasons a snapshot makes the run invalid. */
export function invalidity(side: Side, snap: Snapshot, expectClients?: number): string[] {
  const out: string[] = [];
  if (snap.saturated) out.push(`${side}: ${snap.saturated}`);
  if (expectClients !== undefined && snap.ready < expectClients) {
    out.push(`${side}: only ${snap.ready} of ${expectClients} clients connected`);
  }
  return out;
}

/** Megabytes, rounded to 0.1. */
export function mb(bytes: number): number {
  return Math.round(bytes / 1e5) / 10;
}
