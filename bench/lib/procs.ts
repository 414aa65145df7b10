/**
 * The processes of a benchmark run: the server under test (Parley's main.ts or a raw
 * reference), pinned to its own core where the machine has two, the load generators
 * pinned to the other, and a sampler of a server's CPU and memory read from /proc.
 */
import { existsSync, readFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { now } from "./measure.ts";

export const ROOT = join(import.meta.dir, "..", "..");
const TICKS_PER_SECOND = 100;
const PAGE = 4096;

/** Core lists for `taskset`: the server on core 0, generators on the rest (none on one core). */
export function pinning(): { server: string[]; generator: string[] } {
  const count = cpus().length;
  if (count < 2 || !existsSync("/usr/bin/taskset")) return { server: [], generator: [] };
  return {
    server: ["taskset", "-c", "0"],
    generator: ["taskset", "-c", count === 2 ? "1" : `1-${count - 1}`],
  };
}

/** A server process and the URL it listens on. */
export interface Server {
  readonly proc: Subprocess<"ignore", "pipe", "pipe">;
  readonly pid: number;
  readonly url: string;
  readonly port: number;
  readonly name: string;
}

/**
 * Starts `args` (a Bun script relative to the repository) with `env`; resolves once it
 * prints ` port N ` as main.ts does. Throws if it exits first or takes over 60 s.
 */
export async function startServer(
  name: string,
  args: string[],
  env: Record<string, string>,
  cwd = ROOT,
): Promise<Server> {
  const proc = Bun.spawn([...pinning().server, process.execPath, ...args], {
    cwd,
    env: { ...process.env, HOST: "127.0.0.1", LOG_LEVEL: "error", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const decoder = new TextDecoder();
  const reader = proc.stdout.getReader();
  let output = "";
  const timeout = setTimeout(() => proc.kill(9), 60_000);
  try {
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      output += decoder.decode(chunk.value);
      const port = / port (\d+)/.exec(output)?.[1];
      if (port) {
        void (async () => {
          while (!(await reader.read()).done);
        })();
        void new Response(proc.stderr).text();
        return { proc, pid: proc.pid, url: `http://127.0.0.1:${port}`, port: Number(port), name };
      }
    }
  } finally {
    clearTimeout(timeout);
  }
  const stderr = await new Response(proc.stderr).text();
  throw new Error(`${name} exited before listening: ${output}${stderr}`);
}

/** Stops a server: SIGTERM, then SIGKILL after 10 s. */
export async function stopServer(server: Server): Promise<void> {
  server.proc.kill("SIGTERM");
  const timer = setTimeout(() => server.proc.kill(9), 10_000);
  await server.proc.exited;
  clearTimeout(timer);
}

/** CPU seconds used so far and resident memory of process `pid`, from /proc. */
export function readProc(pid: number): { cpuSeconds: number; rssBytes: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    return { cpuSeconds: ticks / TICKS_PER_SECOND, rssBytes: Number(fields[21]) * PAGE };
  } catch {
    return { cpuSeconds: 0, rssBytes: 0 };
  }
}

/** CPU and memory of one process over a window, sampled every 250 ms. */
export class ProcSampler {
  private readonly timer: ReturnType<typeof setInterval>;
  private start: { cpuSeconds: number; rssBytes: number };
  private startAt = now();
  private last: { cpuSeconds: number; rssBytes: number; at: number };
  /** Highest CPU use over one sampling interval, in cores. */
  peakCores = 0;
  /** Highest resident memory seen, in bytes. */
  peakRss: number;

  constructor(private readonly pid: number) {
    this.start = readProc(pid);
    this.last = { ...this.start, at: this.startAt };
    this.peakRss = this.start.rssBytes;
    this.timer = setInterval(() => this.sample(), 250);
  }

  private sample(): void {
    const at = now();
    const cur = readProc(this.pid);
    if (cur.rssBytes === 0) return;
    const cores = (cur.cpuSeconds - this.last.cpuSeconds) / ((at - this.last.at) / 1000);
    if (at - this.last.at > 200) this.peakCores = Math.max(this.peakCores, cores);
    this.peakRss = Math.max(this.peakRss, cur.rssBytes);
    this.last = { ...cur, at };
  }

  /** Starts a new window. */
  reset(): void {
    this.start = readProc(this.pid);
    this.startAt = now();
    this.last = { ...this.start, at: this.startAt };
    this.peakCores = 0;
    this.peakRss = this.start.rssBytes;
  }

  /** Average CPU (cores) since the window started, current and peak RSS. */
  read(): { cpuCores: number; rssBytes: number; peakRssBytes: number; peakCores: number } {
    const cur = readProc(this.pid);
    const seconds = (now() - this.startAt) / 1000;
    return {
      cpuCores: seconds > 0 ? (cur.cpuSeconds - this.start.cpuSeconds) / seconds : 0,
      rssBytes: cur.rssBytes,
      peakRssBytes: Math.max(this.peakRss, cur.rssBytes),
      peakCores: this.peakCores,
    };
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
