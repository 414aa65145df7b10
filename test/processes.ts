/**
 * Parley as a separate process: for tests that kill it (`kill -9`) and start it again on
 * the same data, for tests of how `main.ts` refuses to start, and for several processes
 * joined by a NATS server (also started here).
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { testEngineEnv } from "./mongo-wire.ts";

const ROOT = join(import.meta.dir, "..");

/** A Parley child process and the URL it listens on. */
export interface ParleyProcess {
  readonly process: Subprocess<"ignore", "pipe", "inherit">;
  readonly url: string;
}

/**
 * Starts `bun main.ts` as its own process on `dataDir` (TEST_MODE, a free port, `env`
 * added); resolves with its URL once it listens.
 */
export async function spawnParley(
  dataDir: string,
  env: Record<string, string> = {},
): Promise<ParleyProcess> {
  const child = Bun.spawn([process.execPath, "main.ts"], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: "0",
      DATA_DIR: dataDir,
      TEST_MODE: "true",
      LOG_LEVEL: "warn",
      ...(await testEngineEnv(dataDir)),
      ...env,
    },
    stdout: "pipe",
    stderr: "inherit",
  });
  const port = await portPrinted(child.stdout, / port (\d+) /, "Parley");
  return { process: child, url: `http://127.0.0.1:${port}` };
}

/**
 * Reads a child's `output` until `pattern` captures the port it listens on; then keeps
 * draining it, so that the child never blocks on a full pipe. Throws when the output ends
 * first, quoting it, with `name` as the child's.
 */
async function portPrinted(
  output: ReadableStream<Uint8Array>,
  pattern: RegExp,
  name: string,
): Promise<string> {
  const decoder = new TextDecoder();
  const reader = output.getReader();
  let text = "";
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    text += decoder.decode(chunk.value);
    const port = pattern.exec(text)?.[1];
    if (port) {
      void (async () => {
        while (!(await reader.read()).done);
      })();
      return port;
    }
  }
  throw new Error(`${name} exited before listening: ${text}`);
}

/**
 * Runs `bun main.ts` with `env` on a new data folder until it exits; resolves with its
 * exit code and standard error. For start-ups that must fail.
 */
export async function runParleyToExit(env: Record<string, string>) {
  const dataDir = mkdtempSync(join(tmpdir(), "parley-exit-"));
  const child = Bun.spawn([process.execPath, "main.ts"], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATA_DIR: dataDir,
      PORT: "0",
      HOST: "127.0.0.1",
      // A process joining the data of running ones joins their database too.
      ...(env.DATA_DIR && (await testEngineEnv(env.DATA_DIR))),
      ...env,
    },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [code, stderr] = await Promise.all([child.exited, new Response(child.stderr).text()]);
  rmSync(dataDir, { recursive: true, force: true });
  return { code, stderr };
}

/** Where Debian's nats-server package puts the server, or null when it is not installed. */
export const NATS_SERVER =
  Bun.which("nats-server") ??
  (existsSync("/usr/sbin/nats-server") ? "/usr/sbin/nats-server" : null);

/** Why the tests that need a NATS server are skipped here, or "" when they run. */
export const NATS_SKIP = NATS_SERVER ? "" : " (skipped: nats-server is not installed)";

/** A NATS server child process on loopback and its client URL. */
export interface NatsProcess {
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * Starts nats-server on loopback, on `port` (to start one again where another stopped)
 * or a free one, with `options` added to its command line; resolves once it accepts
 * clients.
 */
export async function spawnNats(port = -1, options: string[] = []): Promise<NatsProcess> {
  if (!NATS_SERVER) throw new Error("nats-server is not installed");
  const child = Bun.spawn([NATS_SERVER, "-a", "127.0.0.1", "-p", String(port), ...options], {
    stdout: "ignore",
    stderr: "pipe",
  });
  const listening = /client connections on [\d.]+:(\d+)/;
  const bound = await portPrinted(child.stderr, listening, "nats-server");
  return {
    url: `nats://127.0.0.1:${bound}`,
    async stop() {
      child.kill();
      await child.exited;
    },
  };
}
