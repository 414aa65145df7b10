/**
 * The driver's side of the load generators: spawns bench/worker.ts processes, sends them
 * requests over IPC, and merges what they report (histograms added, counts summed,
 * CPU of all generators together) with the saturation check that makes a run invalid.
 */
import type { Subprocess } from "bun";
import type { ClientSpec } from "../worker.ts";
import { latencyOf, type Latency, mergeHists } from "./measure.ts";
import { pinning, ROOT } from "./procs.ts";

interface WorkerSnapshot {
  wallMs: number;
  cpuCores: number;
  lag: string;
  ready: number;
  clients: number;
  failures: Record<string, number>;
  streams: Record<string, { frames: number; hist: string }>;
  calls: Record<
    string,
    { sent: number; acked: number; errors: number; firstError: string | null; hist: string }
  >;
}

/** Stream frames received by all generators, by collection. */
export interface StreamTotals {
  readonly frames: number;
  readonly latency: Latency;
}

/** Calls made by all generators, by kind. */
export interface CallTotals {
  readonly sent: number;
  readonly acked: number;
  readonly errors: number;
  readonly firstError: string | null;
  readonly ack: Latency;
}

/** What every generator saw over one window, merged. */
export interface Snapshot {
  readonly wallMs: number;
  /** CPU of all generators together, in cores. */
  readonly generatorCores: number;
  readonly lagP99Ms: number;
  readonly ready: number;
  readonly clients: number;
  readonly failures: Record<string, number>;
  readonly streams: Record<string, StreamTotals>;
  readonly calls: Record<string, CallTotals>;
  /** Why the generators could not keep up, or null when they could. */
  readonly saturated: string | null;
}

/** CPU share of the generators' cores above which a run is invalid. */
const SATURATED_SHARE = 0.9;
/** Event-loop lag (p99) above which a run is invalid. */
const SATURATED_LAG_MS = 100;

class Generator {
  private seq = 0;
  private readonly waiting = new Map<
    number,
    (answer: { result?: unknown; error?: string }) => void
  >();
  readonly proc: Subprocess;

  constructor(index: number) {
    this.proc = Bun.spawn([...pinning().generator, process.execPath, "bench/worker.ts"], {
      cwd: ROOT,
      env: { ...process.env, BENCH_GENERATOR: String(index) },
      stdout: "inherit",
      stderr: "inherit",
      ipc: (message: { seq: number; result?: unknown; error?: string }) => {
        this.waiting.get(message.seq)?.(message);
        this.waiting.delete(message.seq);
      },
    });
  }

  ask<T>(request: Record<string, unknown>, timeoutMs = 15 * 60_000): Promise<T> {
    const seq = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`generator timed out on ${request.op}`)),
        timeoutMs,
      );
      this.waiting.set(seq, (answer) => {
        clearTimeout(timer);
        if (answer.error) reject(new Error(answer.error));
        else resolve(answer.result as T);
      });
      this.proc.send({ seq, request });
    });
  }
}

/** A set of generator processes sharing the generator cores. */
export class Generators {
  private readonly all: Generator[];

  /** Spawns `count` generator processes. */
  constructor(count: number) {
    this.all = Array.from({ length: count }, (_, i) => new Generator(i));
  }

  get count(): number {
    return this.all.length;
  }

  /** Sends each generator its own request and resolves with every answer, in order. */
  each<T>(request: (index: number) => Record<string, unknown>): Promise<T[]> {
    return Promise.all(this.all.map((g, i) => g.ask<T>(request(i))));
  }

  /**
   * Connects `clients` (dealt round-robin to the generators) to `url`; resolves with how
   * many are logged in and subscribed, how long that took and why the others failed.
   * Client `i` ends up at index `floor(i / count)` of generator `i % count`.
   */
  async connect(url: string, clients: readonly ClientSpec[], concurrency = 100) {
    const wsUrl = `${url.replace(/^http/, "ws")}/websocket`;
    const answers = await this.each<{
      ok: number;
      failed: number;
      ms: number;
      failures: Record<string, number>;
    }>((g) => ({
      op: "connect",
      url: wsUrl,
      clients: clients.filter((_, i) => i % this.count === g),
      concurrency,
      timeoutMs: 30_000,
    }));
    const failures: Record<string, number> = {};
    for (const a of answers)
      for (const [k, v] of Object.entries(a.failures)) failures[k] = (failures[k] ?? 0) + v;
    return {
      ok: answers.reduce((s, a) => s + a.ok, 0),
      failed: answers.reduce((s, a) => s + a.failed, 0),
      ms: Math.max(...answers.map((a) => a.ms)),
      failures,
    };
  }

  /** Merged stats of every generator since the last reset; `reset` starts a new window. */
  async stats(reset: boolean): Promise<Snapshot> {
    const parts = await this.each<WorkerSnapshot>(() => ({ op: "stats", reset }));
    const streams: Record<string, StreamTotals> = {};
    for (const name of new Set(parts.flatMap((p) => Object.keys(p.streams)))) {
      const mine = parts.map((p) => p.streams[name]).filter((s) => s !== undefined);
      streams[name] = {
        frames: mine.reduce((s, x) => s + x.frames, 0),
        latency: latencyOf(mergeHists(mine.map((x) => x.hist))),
      };
    }
    const calls: Record<string, CallTotals> = {};
    for (const kind of new Set(parts.flatMap((p) => Object.keys(p.calls)))) {
      const mine = parts.map((p) => p.calls[kind]).filter((s) => s !== undefined);
      calls[kind] = {
        sent: mine.reduce((s, x) => s + x.sent, 0),
        acked: mine.reduce((s, x) => s + x.acked, 0),
        errors: mine.reduce((s, x) => s + x.errors, 0),
        firstError: mine.find((x) => x.firstError)?.firstError ?? null,
        ack: latencyOf(mergeHists(mine.map((x) => x.hist))),
      };
    }
    const failures: Record<string, number> = {};
    for (const p of parts)
      for (const [k, v] of Object.entries(p.failures)) failures[k] = (failures[k] ?? 0) + v;
    const generatorCores = parts.reduce((s, p) => s + p.cpuCores, 0);
    const lagP99Ms = latencyOf(mergeHists(parts.map((p) => p.lag))).p99;
    const share =
      generatorCores / Math.max(1, pinning().generator.length ? coresOfGenerators() : 1);
    let saturated: string | null = null;
    if (share > SATURATED_SHARE) saturated = `generator CPU ${generatorCores.toFixed(2)} cores`;
    else if (lagP99Ms > SATURATED_LAG_MS) saturated = `generator event-loop lag p99 ${lagP99Ms} ms`;
    return {
      wallMs: Math.max(...parts.map((p) => p.wallMs)),
      generatorCores,
      lagP99Ms,
      ready: parts.reduce((s, p) => s + p.ready, 0),
      clients: parts.reduce((s, p) => s + p.clients, 0),
      failures,
      streams,
      calls,
      saturated,
    };
  }

  /**
   * Starts recording when each timed message is received (`on`), or stops; resolves with
   * what was recorded since the last call, merged over the generators: for each message
   * (by its send stamp), its first and last receipt and how many clients received it.
   */
  async receipts(
    on: boolean,
  ): Promise<Map<string, { first: number; last: number; count: number }>> {
    const parts = await this.each<[string, [number, number, number]][]>(() => ({
      op: "receipts",
      on,
    }));
    const merged = new Map<string, { first: number; last: number; count: number }>();
    for (const [stamp, [first, last, count]] of parts.flat()) {
      const seen = merged.get(stamp);
      if (!seen) merged.set(stamp, { first, last, count });
      else {
        seen.first = Math.min(seen.first, first);
        seen.last = Math.max(seen.last, last);
        seen.count += count;
      }
    }
    return merged;
  }

  /** Closes every client and ends the generator processes. */
  async close(): Promise<void> {
    await this.each(() => ({ op: "close" })).catch(() => {});
    for (const g of this.all) {
      const timer = setTimeout(() => g.proc.kill(9), 3000);
      await g.proc.exited;
      clearTimeout(timer);
    }
  }
}

function coresOfGenerators(): number {
  const list = pinning().generator.at(-1) ?? "";
  const [from, to] = list.split("-").map(Number);
  return to === undefined ? 1 : (to as number) - (from as number) + 1;
}
