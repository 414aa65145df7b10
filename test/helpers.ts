/**
 * Test helpers: a real Parley server on port 0 over a fresh embedded store, REST calls
 * over real HTTP, and a small raw DDP client over a real WebSocket.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../core/config.ts";
import { parseEJSON, stringifyEJSON } from "../core/ejson.ts";
import { TEST_ADMIN } from "../services/index.ts";
import { type ParleyServer, type ServerOptions, startServer } from "../server.ts";
import { testEngineEnv } from "./mongo-wire.ts";

export interface Credentials {
  readonly userId: string;
  readonly authToken: string;
}

export interface TestServer {
  readonly parley: ParleyServer;
  readonly url: string;
  readonly wsUrl: string;
  readonly dataDir: string;
  /** Rocket.Chat's test administrator (or, outside test mode, the first one), logged in. */
  readonly admin: Credentials;
  /** Stops the server and removes its data unless `keepData`. */
  stop(keepData?: boolean): Promise<void>;
}

export interface ApiResponse {
  readonly status: number;
  readonly headers: Headers;
  // biome-ignore lint: test bodies are loosely typed on purpose
  readonly body: any;
}

/** The first administrator of a server started with `testMode: false`. */
export const PRODUCTION_ADMIN = { username: "first.admin", password: "first-admin-pass" };

/**
 * Starts a server on a free port over a new (or given) data folder: in TEST_MODE unless
 * `testMode` is false, when it runs as in production (rate limiters and two-factor checks
 * on) with PRODUCTION_ADMIN as its first administrator. `env` adds variables.
 */
export async function startTestServer(
  options: ServerOptions & {
    dataDir?: string;
    testMode?: boolean;
    env?: Record<string, string>;
  } = {},
): Promise<TestServer> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "parley-test-"));
  const testMode = options.testMode ?? true;
  const config = loadConfig({
    PORT: "0",
    DATA_DIR: dataDir,
    ...(await testEngineEnv(dataDir)),
    TEST_MODE: String(testMode),
    LOG_LEVEL: "silent",
    ...(!testMode && {
      ADMIN_USERNAME: PRODUCTION_ADMIN.username,
      ADMIN_PASS: PRODUCTION_ADMIN.password,
    }),
    ...options.env,
  });
  const parley = await startServer(config, options);
  const url = parley.url;
  const admin = testMode
    ? await login(url, TEST_ADMIN, TEST_ADMIN)
    : await login(url, PRODUCTION_ADMIN.username, PRODUCTION_ADMIN.password);
  return {
    parley,
    url,
    wsUrl: `${url.replace("http", "ws")}/websocket`,
    dataDir,
    admin,
    async stop(keepData = false) {
      await parley.stop();
      if (!keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Calls the REST API: `path` is below `/api/v1/` unless it starts with `/`; a body is sent
 * as JSON, or as it is when it is a string or a FormData.
 */
export async function api(
  base: string | TestServer,
  path: string,
  options: {
    method?: string;
    body?: unknown;
    auth?: Credentials;
    query?: Record<string, string>;
  } = {},
): Promise<ApiResponse> {
  const root = typeof base === "string" ? base : base.url;
  const url = new URL(path.startsWith("/") ? path : `/api/v1/${path}`, root);
  for (const [k, v] of Object.entries(options.query ?? {})) url.searchParams.set(k, v);
  const headers: Record<string, string> = {};
  // A FormData body is sent as multipart, with the boundary fetch chooses.
  const form = options.body instanceof FormData;
  if (options.body !== undefined && !form) headers["Content-Type"] = "application/json";
  if (options.auth) {
    headers["X-User-Id"] = options.auth.userId;
    headers["X-Auth-Token"] = options.auth.authToken;
  }
  const response = await fetch(url, {
    method: options.method ?? (options.body === undefined ? "GET" : "POST"),
    headers,
    ...(options.body !== undefined && {
      body:
        typeof options.body === "string" || form
          ? (options.body as string | FormData)
          : JSON.stringify(options.body),
    }),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: keep the text so the assertion shows it.
  }
  return { status: response.status, headers: response.headers, body };
}

/** Sets workspace settings as the administrator. */
export async function setSettings(
  server: TestServer,
  values: Record<string, unknown>,
): Promise<void> {
  for (const [id, value] of Object.entries(values)) {
    const res = await api(server, `settings/${id}`, { auth: server.admin, body: { value } });
    if (res.status !== 200) throw new Error(`setting ${id} failed: ${JSON.stringify(res.body)}`);
  }
}

/** Logs in over REST and returns the credentials. */
export async function login(
  base: string | TestServer,
  user: string,
  password: string,
): Promise<Credentials> {
  const res = await api(base, "login", { body: { user, password } });
  if (res.status !== 200) throw new Error(`login of ${user} failed: ${JSON.stringify(res.body)}`);
  return { userId: res.body.data.userId, authToken: res.body.data.authToken };
}

let userCounter = 0;

/** Creates a user as the admin and logs them in. */
export async function createUser(
  server: TestServer,
  overrides: Record<string, unknown> = {},
): Promise<{
  user: { _id: string; username: string };
  credentials: Credentials;
  password: string;
}> {
  userCounter += 1;
  const username = (overrides.username as string) ?? `user.test.${Date.now()}.${userCounter}`;
  const password = (overrides.password as string) ?? "rocket.chat";
  const res = await api(server, "users.create", {
    auth: server.admin,
    body: { email: `${username}@example.com`, name: username, username, password, ...overrides },
  });
  if (res.status !== 200) throw new Error(`users.create failed: ${JSON.stringify(res.body)}`);
  return { user: res.body.user, credentials: await login(server, username, password), password };
}

type Frame = Record<string, unknown> & { msg?: string };

/**
 * A minimal DDP client over a real WebSocket: it connects, calls methods, subscribes,
 * and lets a test await a frame that matches a predicate.
 */
export class RawDdp {
  readonly frames: Frame[] = [];
  private readonly waiters: { match: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = [];
  private nextId = 0;

  private constructor(readonly socket: WebSocket) {
    socket.addEventListener("message", (event) => {
      const frame = parseEJSON(String(event.data)) as Frame;
      this.frames.push(frame);
      for (const waiter of [...this.waiters]) {
        if (waiter.match(frame)) {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          waiter.resolve(frame);
        }
      }
    });
  }

  /** Opens a socket to `wsUrl` and completes the DDP handshake. */
  static async connect(wsUrl: string): Promise<RawDdp> {
    const socket = new WebSocket(wsUrl);
    await new Promise<void>((resolve, reject) => {
      socket.addEventListener("open", () => resolve(), { once: true });
      socket.addEventListener("error", () => reject(new Error(`cannot connect to ${wsUrl}`)), {
        once: true,
      });
    });
    const client = new RawDdp(socket);
    const connected = client.waitFor((f) => f.msg === "connected" || f.msg === "failed");
    client.send({ msg: "connect", version: "1", support: ["1", "pre2", "pre1"] });
    await connected;
    return client;
  }

  send(frame: unknown): void {
    this.socket.send(stringifyEJSON(frame));
  }

  /** Resolves with the first frame (already received or future) that matches. */
  waitFor(match: (f: Frame) => boolean): Promise<Frame> {
    const seen = this.frames.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  /** Calls a method and resolves with its `result` frame (which may carry `error`). */
  async call(method: string, ...params: unknown[]): Promise<Frame> {
    const id = `m${++this.nextId}`;
    const answer = this.waitFor((f) => f.msg === "result" && f.id === id);
    this.send({ msg: "method", method, params, id });
    return answer;
  }

  /** Logs in with a resume token. */
  async resume(token: string): Promise<Frame> {
    return this.call("login", { resume: token });
  }

  /** Subscribes and resolves with the `ready` or `nosub` frame. */
  async sub(name: string, ...params: unknown[]): Promise<Frame> {
    const id = `s${++this.nextId}`;
    const answer = this.waitFor(
      (f) =>
        (f.msg === "ready" && (f.subs as string[]).includes(id)) ||
        (f.msg === "nosub" && f.id === id),
    );
    this.send({ msg: "sub", id, name, params });
    return answer;
  }

  /** Resolves with the args of the first stream event (received so far or later) of `collection` named `eventName` that matches. */
  streamEvent(
    collection: string,
    eventName: string,
    match: (args: unknown[]) => boolean = () => true,
  ): Promise<unknown[]> {
    return this.waitFor((f) => {
      const fields = f.fields as { eventName?: string; args?: unknown[] } | undefined;
      return (
        f.msg === "changed" &&
        f.collection === collection &&
        fields?.eventName === eventName &&
        match(fields.args ?? [])
      );
    }).then((f) => (f.fields as { args: unknown[] }).args);
  }

  close(): void {
    this.socket.close();
  }
}
