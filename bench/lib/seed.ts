/**
 * The data a scenario starts from. Parley: a template data folder with a pool of users
 * and their login tokens, made once per benchmark run (bcrypt makes each account cost
 * about 0.1 s of CPU, so thousands of connections share a pool of users, several
 * connections per user, as a user with a browser, a phone and a bot has), copied fresh
 * for every scenario; rooms are created per scenario over REST. Raw references: the same
 * shapes with made-up ids, since the relay checks nothing.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Server, startServer, stopServer } from "./procs.ts";

/** A pool user and its resume token. */
export interface PoolUser {
  readonly uid: string;
  readonly username: string;
  readonly token: string;
}

/** A seeded template data folder. */
export interface Template {
  readonly dir: string;
  readonly users: readonly PoolUser[];
  readonly admin: { readonly uid: string; readonly token: string };
}

const ADMIN = { username: "bench.admin", password: "bench-admin-password" };

/** Starts Parley on a data folder, rate limiters off (TEST_MODE), on `port` (0: any). */
export function startParley(dataDir: string, port = 0): Promise<Server> {
  // BENCH_CPU_PROF=<dir> profiles Parley (Bun's --cpu-prof, markdown) for finding
  // bottlenecks; BENCH_PARLEY_ROOT=<checkout> measures another checkout's Parley.
  const prof = process.env.BENCH_CPU_PROF;
  const flags = prof ? ["--cpu-prof-md", `--cpu-prof-dir=${prof}`] : [];
  const root = process.env.BENCH_PARLEY_ROOT;
  return startServer(
    "parley",
    [...flags, "main.ts"],
    {
      PORT: String(port),
      DATA_DIR: dataDir,
      TEST_MODE: "true",
      ADMIN_USERNAME: ADMIN.username,
      ADMIN_PASS: ADMIN.password,
      INSTANCE_ID: "bench",
    },
    root,
  );
}

/** Runs `work` over `items` with at most `lanes` at a time. */
export async function inLanes<T, R>(
  items: readonly T[],
  lanes: number,
  work: (item: T, i: number) => Promise<R>,
) {
  const out: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(lanes, items.length) }, lane));
  return out;
}

/** POSTs JSON to Parley's REST API and returns the body; throws on a failure. */
export async function rest(
  url: string,
  path: string,
  body: unknown,
  auth?: { uid: string; token: string },
): Promise<Record<string, unknown>> {
  const res = await fetch(`${url}/api/v1/${path}`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      ...(auth && { "X-User-Id": auth.uid, "X-Auth-Token": auth.token }),
    },
    body: JSON.stringify(body),
  });
  const answer = (await res.json()) as Record<string, unknown>;
  if (!res.ok || answer.success === false) {
    throw new Error(`${path} failed: ${res.status} ${JSON.stringify(answer)}`);
  }
  return answer;
}

async function loginOf(url: string, user: string, password: string) {
  const answer = await rest(url, "login", { user, password });
  const data = answer.data as { userId: string; authToken: string };
  return { uid: data.userId, token: data.authToken };
}

/**
 * A template data folder holding `count` users (reused from `cacheDir` when it already has
 * at least that many), each logged in once.
 */
export async function makeTemplate(cacheDir: string, count: number, log: (line: string) => void) {
  const meta = join(cacheDir, "bench-users.json");
  if (existsSync(meta)) {
    const saved = JSON.parse(readFileSync(meta, "utf8")) as Template;
    if (saved.users.length >= count)
      return { ...saved, dir: cacheDir, users: saved.users.slice(0, count) };
    rmSync(cacheDir, { recursive: true, force: true });
  }
  log(`seeding ${count} users (bcrypt: about 0.15 s of CPU each, once per cache)`);
  const server = await startParley(cacheDir);
  try {
    const admin = await loginOf(server.url, ADMIN.username, ADMIN.password);
    const names = Array.from({ length: count }, (_, i) => `bench.u${i}`);
    const users = await inLanes(names, 4, async (username) => {
      const password = `pw-${username}`;
      await rest(
        server.url,
        "users.create",
        {
          username,
          password,
          email: `${username}@bench.localhost`,
          name: username,
          joinDefaultChannels: false,
          verified: true,
        },
        admin,
      );
      const login = await loginOf(server.url, username, password);
      return { uid: login.uid, username, token: login.token };
    });
    const template: Template = { dir: cacheDir, users, admin };
    await stopServer(server);
    writeFileSync(meta, JSON.stringify(template));
    return template;
  } catch (err) {
    server.proc.kill(9);
    throw err;
  }
}

/** A fresh copy of the template's data folder, for one server run. */
export function freshDataDir(template: Template): string {
  const dir = mkdtempSync(join(tmpdir(), "parley-bench-"));
  cpSync(template.dir, dir, { recursive: true });
  return dir;
}

/**
 * Creates `count` public channels on Parley whose members are the pool users that
 * `members(r)` lists (the administrator is not a member); resolves with their ids.
 */
export async function createRooms(
  url: string,
  template: Template,
  count: number,
  members: (room: number) => readonly PoolUser[],
  prefix: string,
): Promise<string[]> {
  const rooms = Array.from({ length: count }, (_, r) => r);
  return inLanes(rooms, 4, async (r) => {
    const answer = await rest(
      url,
      "channels.create",
      {
        name: `${prefix}-${r}-${Date.now().toString(36)}`,
        members: members(r).map((u) => u.username),
        excludeSelf: true,
      },
      template.admin,
    );
    return (answer.channel as { _id: string })._id;
  });
}

/** Pool users for a raw reference: made-up ids, the id as token. */
export function rawUsers(count: number): PoolUser[] {
  return Array.from({ length: count }, (_, i) => ({
    uid: `u${i}`,
    username: `bench.u${i}`,
    token: `u${i}`,
  }));
}
