/**
 * A load-generator process: holds DDP clients over Bun's native WebSocket, drives them at
 * the rates the benchmark driver asks for, and reports what it measured. The driver talks
 * to it over Bun's IPC channel, one request at a time per kind, each answered once.
 *
 * Latency is measured from a send timestamp carried inside the payload (`b<ms>|`), so a
 * frame sent by one generator and received by another is still timed. Incoming stream
 * frames are recognised by text search, not parsed, to keep the generator cheap.
 */
import type { Histogram } from "hdr-histogram-js";
import { encodeHist, newHist, now, recordMs } from "./lib/measure.ts";

/** One simulated user connection. */
export interface ClientSpec {
  readonly token: string;
  readonly uid: string;
  readonly username: string;
  /** Subscriptions to open after login: [name, params]. */
  readonly subs: readonly (readonly [string, readonly unknown[]])[];
  /** The room this client sends to and types in, if any. */
  readonly rid?: string;
  /** Rooms this client sends to in turn, instead of `rid`. */
  readonly rids?: readonly string[];
}

/** A kind of timed call the generator makes; "mention" is a chat message to `@all`. */
export type LoadKind = "chat" | "mention" | "status" | "typing";

interface Pending {
  readonly t: number;
  readonly kind: string;
  readonly done?: (frame: { error?: unknown }) => void;
}

const STAMP = /"b(\d{13}(?:\.\d+)?)\|/;

class Client {
  socket: WebSocket | null = null;
  ready = false;
  dropped = false;
  readyAt = 0;
  nextId = 0;
  toggle = false;
  readonly pending = new Map<string, Pending>();
  private onReady: ((ok: boolean, why?: string) => void) | null = null;
  private subsLeft = 0;

  constructor(readonly spec: ClientSpec) {}

  /** Opens the socket, logs in by resume token and subscribes; resolves false on failure. */
  open(url: string, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      let settled = false;
      const finish = (ok: boolean, why?: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.onReady = null;
        if (ok) {
          this.ready = true;
          this.readyAt = now();
        } else {
          if (why) failures.set(why, (failures.get(why) ?? 0) + 1);
          this.socket?.close();
        }
        resolve(ok);
      };
      const timer = setTimeout(() => finish(false, "timeout"), timeoutMs);
      this.onReady = finish;
      let socket: WebSocket;
      try {
        socket = new WebSocket(url);
      } catch {
        finish(false, "dial");
        return;
      }
      this.socket = socket;
      socket.onopen = () =>
        socket.send('{"msg":"connect","version":"1","support":["1","pre2","pre1"]}');
      socket.onmessage = (event) => this.onFrame(String(event.data));
      socket.onerror = () => finish(false, "socket error");
      socket.onclose = () => {
        const wasReady = this.ready;
        this.ready = false;
        this.pending.clear();
        if (this.socket === socket) this.socket = null;
        finish(false, "closed");
        if (wasReady) onDrop(this);
      };
    });
  }

  call(method: string, params: readonly unknown[], kind: string, done?: Pending["done"]): void {
    const id = `${kind}${++this.nextId}`;
    this.pending.set(id, { t: now(), kind, done });
    this.socket?.send(JSON.stringify({ msg: "method", method, params, id }));
  }

  private onFrame(text: string): void {
    const at = text.indexOf('"collection":"');
    if (at >= 0) {
      const collection = text.slice(at + 14, text.indexOf('"', at + 14));
      stream(collection).frames += 1;
      const stamp = STAMP.exec(text);
      if (stamp) {
        const t = now();
        recordMs(stream(collection).hist, t - Number(stamp[1]));
        if (receipts) noteReceipt(stamp[1] as string, t);
      }
      return;
    }
    const frame = JSON.parse(text) as {
      msg?: string;
      id?: string;
      subs?: string[];
      error?: { error?: unknown; reason?: string };
    };
    switch (frame.msg) {
      case "ping":
        this.socket?.send(
          frame.id ? `{"msg":"pong","id":${JSON.stringify(frame.id)}}` : '{"msg":"pong"}',
        );
        return;
      case "connected":
        this.call("login", [{ resume: this.spec.token }], "l", (answer) => {
          if (answer.error) this.onReady?.(false, `login: ${JSON.stringify(answer.error)}`);
          else this.subscribe();
        });
        return;
      case "result": {
        const pending = frame.id ? this.pending.get(frame.id) : undefined;
        if (!pending) return;
        this.pending.delete(frame.id as string);
        if (pending.done) pending.done(frame);
        else acked(pending.kind, now() - pending.t, frame.error);
        return;
      }
      case "ready":
        this.subsLeft -= frame.subs?.length ?? 0;
        if (this.subsLeft <= 0) this.onReady?.(true);
        return;
      case "nosub":
        this.onReady?.(false, `nosub: ${JSON.stringify(frame.error ?? null)}`);
        return;
    }
  }

  private subscribe(): void {
    this.subsLeft = this.spec.subs.length;
    if (this.subsLeft === 0) {
      this.onReady?.(true);
      return;
    }
    for (const [name, params] of this.spec.subs) {
      const id = `s${++this.nextId}`;
      this.socket?.send(JSON.stringify({ msg: "sub", id, name, params }));
    }
  }
}

// ---- what this process measured --------------------------------------------------------

interface StreamStats {
  frames: number;
  hist: Histogram;
}
interface CallStats {
  sent: number;
  acked: number;
  errors: number;
  firstError: string | null;
  hist: Histogram;
}

let streams = new Map<string, StreamStats>();
let calls = new Map<string, CallStats>();
const failures = new Map<string, number>();
let lag = newHist();
let windowStart = now();
let cpuStart = process.cpuUsage();

/**
 * While on, when each timed frame (by its send stamp) was first and last received here,
 * and how many times: the driver merges these into each message's spread from its first
 * to its last receiver.
 */
let receipts: Map<string, [first: number, last: number, count: number]> | null = null;

function noteReceipt(stamp: string, t: number): void {
  const seen = receipts?.get(stamp);
  if (!seen) receipts?.set(stamp, [t, t, 1]);
  else {
    seen[1] = t;
    seen[2] += 1;
  }
}

function stream(name: string): StreamStats {
  let stats = streams.get(name);
  if (!stats) streams.set(name, (stats = { frames: 0, hist: newHist() }));
  return stats;
}

function call(kind: string): CallStats {
  let stats = calls.get(kind);
  if (!stats) {
    stats = { sent: 0, acked: 0, errors: 0, firstError: null, hist: newHist() };
    calls.set(kind, stats);
  }
  return stats;
}

function acked(kind: string, ms: number, error: unknown): void {
  const stats = call(kind);
  stats.acked += 1;
  recordMs(stats.hist, ms);
  if (error) {
    stats.errors += 1;
    stats.firstError ??= JSON.stringify(error);
  }
}

// Event-loop lag: how late a 50 ms timer fires.
let expected = now() + 50;
const lagTimer = setInterval(() => {
  const t = now();
  recordMs(lag, Math.max(0, t - expected));
  expected = t + 50;
}, 50);

function snapshot(reset: boolean) {
  const wall = now() - windowStart;
  const cpu = process.cpuUsage(cpuStart);
  const report = {
    wallMs: wall,
    cpuCores: (cpu.user + cpu.system) / 1000 / wall,
    lag: encodeHist(lag),
    ready: clients.filter((c) => c.ready).length,
    clients: clients.length,
    failures: Object.fromEntries(failures),
    streams: Object.fromEntries(
      [...streams].map(([name, s]) => [name, { frames: s.frames, hist: encodeHist(s.hist) }]),
    ),
    calls: Object.fromEntries(
      [...calls].map(([kind, s]) => [
        kind,
        {
          sent: s.sent,
          acked: s.acked,
          errors: s.errors,
          firstError: s.firstError,
          hist: encodeHist(s.hist),
        },
      ]),
    ),
  };
  if (reset) {
    streams = new Map();
    calls = new Map();
    lag = newHist();
    windowStart = now();
    cpuStart = process.cpuUsage();
  }
  return report;
}

// ---- requests from the driver -------------------------------------------------------

let clients: Client[] = [];
let storm: { url: string; jitterMs: number; deadline: number; redials: number } | null = null;

/**
 * After a drop during a storm: redial after a random pause up to the jitter, then, while
 * refused or timed out, back off as real clients do (0.5 s doubling up to 8 s, each
 * pause drawn between half and all of it), each attempt given 30 s.
 */
function onDrop(client: Client): void {
  client.dropped = true;
  if (!storm) return;
  const plan = storm;
  let attempt = 0;
  const redial = () => {
    if (now() > plan.deadline) return;
    plan.redials += 1;
    void client.open(plan.url, 30_000).then((ok) => {
      if (ok || now() > plan.deadline) return;
      const ceiling = Math.min(8_000, 500 * 2 ** attempt++);
      setTimeout(redial, ceiling * (0.5 + Math.random() / 2));
    });
  };
  setTimeout(redial, Math.random() * plan.jitterMs);
}

async function connect(url: string, specs: ClientSpec[], concurrency: number, timeoutMs: number) {
  const started = now();
  const fresh = specs.map((spec) => new Client(spec));
  clients.push(...fresh);
  let next = 0;
  let ok = 0;
  const lane = async () => {
    while (next < fresh.length) {
      const client = fresh[next++] as Client;
      if (await client.open(url, timeoutMs)) ok += 1;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, fresh.length) }, lane));
  return {
    ok,
    failed: fresh.length - ok,
    ms: now() - started,
    failures: Object.fromEntries(failures),
  };
}

interface Action {
  readonly kind: LoadKind;
  /** Calls per second from this generator. */
  readonly rate: number;
  /** Indexes (into this generator's clients) of the clients that make the calls. */
  readonly senders: readonly number[];
}

function fire(kind: LoadKind, client: Client, seq: number): void {
  const stamp = `b${now()}|${seq}`;
  const rids = client.spec.rids;
  const rid = (rids ? rids[seq % rids.length] : client.spec.rid) as string;
  if (kind === "chat") client.call("sendMessage", [{ rid, msg: stamp }], kind);
  else if (kind === "mention") client.call("sendMessage", [{ rid, msg: `${stamp} @all` }], kind);
  else if (kind === "status") {
    client.toggle = !client.toggle;
    client.call("setUserStatus", [client.toggle ? "away" : "online", stamp], kind);
  } else {
    const params = [`${rid}/user-activity`, client.spec.username, ["user-typing"], { b: stamp }];
    client.call("stream-notify-room", params, kind);
  }
}

/** Sends the actions' calls at their rates for `durationMs`, then waits (bounded) for their answers. */
async function load(actions: readonly Action[], durationMs: number, drainMs: number) {
  const started = now();
  const sent = actions.map(() => 0);
  let skipped = 0;
  while (now() - started < durationMs) {
    const elapsed = now() - started;
    actions.forEach((action, a) => {
      const due = Math.floor((action.rate * elapsed) / 1000) - (sent[a] as number);
      for (let k = 0; k < due; k++) {
        const n = (sent[a] as number) + 1;
        sent[a] = n;
        const client = clients[action.senders[n % action.senders.length] as number];
        if (!client?.ready) {
          skipped += 1;
          continue;
        }
        call(action.kind).sent += 1;
        fire(action.kind, client, n);
      }
    });
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const kinds = new Set(actions.map((a) => a.kind));
  const drainEnd = now() + drainMs;
  const outstanding = () =>
    clients.reduce((sum, c) => {
      for (const p of c.pending.values()) if (kinds.has(p.kind as LoadKind)) sum += 1;
      return sum;
    }, 0);
  let left = outstanding();
  while (left > 0 && now() < drainEnd) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    left = outstanding();
  }
  return { outstanding: left, skipped, ms: now() - started };
}

interface HttpRequestSpec {
  readonly method: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

/** `concurrency` loops, loop i sending `requests[i % length]` back to back for `durationMs`. */
async function http(
  base: string,
  requests: HttpRequestSpec[],
  concurrency: number,
  durationMs: number,
) {
  const hist = newHist();
  let count = 0;
  let errors = 0;
  let firstError: string | null = null;
  const end = now() + durationMs;
  const loop = async (_: unknown, i: number) => {
    const request = requests[i % requests.length] as HttpRequestSpec;
    while (now() < end) {
      const t = now();
      try {
        const res = await fetch(base + request.path, {
          method: request.method,
          headers: request.headers,
          body: request.body,
        });
        await res.arrayBuffer();
        if (!res.ok) {
          errors += 1;
          firstError ??= `HTTP ${res.status}`;
        }
      } catch (err) {
        errors += 1;
        firstError ??= String(err);
      }
      count += 1;
      recordMs(hist, now() - t);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  return { count, errors, firstError, hist: encodeHist(hist) };
}

type Request =
  | { op: "connect"; url: string; clients: ClientSpec[]; concurrency: number; timeoutMs: number }
  | { op: "load"; actions: Action[]; durationMs: number; drainMs: number }
  | {
      op: "http";
      base: string;
      requests: HttpRequestSpec[];
      concurrency: number;
      durationMs: number;
    }
  | { op: "stats"; reset: boolean }
  | { op: "receipts"; on: boolean }
  | { op: "storm"; url: string; jitterMs: number; deadlineMs: number }
  | { op: "stormWait"; timeoutMs: number }
  | { op: "close" };

async function handle(request: Request): Promise<unknown> {
  switch (request.op) {
    case "connect":
      return connect(request.url, request.clients, request.concurrency, request.timeoutMs);
    case "load":
      return load(request.actions, request.durationMs, request.drainMs);
    case "http":
      return http(request.base, request.requests, request.concurrency, request.durationMs);
    case "stats":
      return snapshot(request.reset);
    case "receipts": {
      const seen = [...(receipts ?? [])];
      receipts = request.on ? new Map() : null;
      return seen;
    }
    case "storm":
      for (const c of clients) c.dropped = false;
      storm = {
        url: request.url,
        jitterMs: request.jitterMs,
        deadline: now() + request.deadlineMs,
        redials: 0,
      };
      return { armed: clients.length };
    case "stormWait": {
      const end = now() + request.timeoutMs;
      const back = () => clients.every((c) => c.dropped && c.ready);
      while (!back() && now() < end) await new Promise((resolve) => setTimeout(resolve, 50));
      return {
        back: clients.filter((c) => c.dropped && c.ready).length,
        dropped: clients.filter((c) => c.dropped).length,
        readyAt: clients.filter((c) => c.dropped && c.ready).map((c) => c.readyAt),
        redials: storm?.redials ?? 0,
      };
    }
    case "close":
      storm = null;
      for (const c of clients) c.socket?.close();
      clearInterval(lagTimer);
      setTimeout(() => process.exit(0), 100);
      return { closed: clients.length };
  }
}

process.on("message", (message: { seq: number; request: Request }) => {
  handle(message.request).then(
    (result) => process.send?.({ seq: message.seq, result }),
    (err) => process.send?.({ seq: message.seq, error: String(err?.stack ?? err) }),
  );
});

// A generator whose driver is gone exits by itself.
process.on("disconnect", () => process.exit(0));
setTimeout(() => process.exit(3), 30 * 60_000).unref();
