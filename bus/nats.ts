/**
 * The bus on a NATS server. Events go to one subject that every process subscribes to
 * (the connection does not echo a process's own messages back). A request is published
 * with a reply subject under this process's inbox, and its server answers there. Every
 * message travels in chunks no larger than the server's `max_payload`, so a large one (a
 * long query result, a long message) still fits: each chunk starts with a byte saying
 * whether more follow, and the chunks of one message are told apart from others' by their
 * reply subject (for events, the sender's inbox), since NATS keeps each sender's order.
 *
 * Each process also announces itself every second on a subject of its own, so that an
 * event published with confirmation knows which processes to wait for: those heard from
 * lately. A confirmed event carries a header asking for it, and a reply subject under its
 * publisher's inbox, where each process sends its name once it has applied the event.
 */
import {
  connect,
  headers,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
} from "@nats-io/transport-node";
import type { Logger } from "../core/logger.ts";
import { waitAtMost } from "../core/wait.ts";
import { type Bus, type BusEvent, NoResponderError, RemoteError, UnansweredError } from "./bus.ts";
import { decodeWire, encodeWire } from "./codec.ts";

/** The subject, under the deployment's prefix, every process publishes its events on. */
const EVENTS = "events";

/** The subject, under the deployment's prefix, every process announces itself on. */
const PEERS = "peers";

/** How often a process announces itself. */
const ANNOUNCE_MS = 1000;

/** A process not heard from for this long is no longer waited for. */
const PEER_SILENT_MS = 3500;

/** First byte of an announcement: the process is here, or it is leaving. */
const HERE = 0x2b; // "+"
const LEAVING = 0x2d; // "-"

/** The header of a confirmed event's chunks. */
const CONFIRM_HEADER = "Parley-Confirm";

/** First byte of every chunk: more chunks follow, or this is the last one. */
const MORE = 0x2b; // "+"
const LAST = 0x2e; // "."

/** The whole of a probe: "is anything serving this subject?" */
const PROBE = 0x3f; // "?"

/**
 * How often a request still waiting for its answer probes its subject. A server that
 * died after taking the request never answers, and NATS reports no-responders only to
 * requests sent after it died: the probe is such a request.
 */
const PROBE_MS = 1000;

/**
 * How long requests waiting when the connection comes back get to be answered (a request
 * sent while disconnected may have been lost) before they are given up.
 */
const GRACE_MS = 2000;

/** What `assemble` returns until the last chunk of a message has come. */
const INCOMPLETE = Symbol("incomplete");

/** How long closing waits for the server to take what is still unsent (ms). */
const DRAIN_WAIT_MS = 2000;

/** Room left in a chunk for NATS's own framing. */
const CHUNK_MARGIN = 1024;

interface Waiting {
  readonly subject: string;
  readonly probes?: ReturnType<typeof setInterval>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

/** A confirmed event waiting for the processes that have not applied it yet. */
interface Confirming {
  readonly pending: Set<string>;
  readonly done: () => void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/** What a server sends back: its handler's value, or the error it threw. */
type Answer =
  | { readonly value: unknown }
  | { readonly error: { name: string; message: string; fields: Record<string, unknown> } };

function answerOf(error: unknown): Answer {
  if (!(error instanceof Error))
    return { error: { name: "Error", message: String(error), fields: {} } };
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(error)) {
    if (key !== "cause" && key !== "stack") fields[key] = value;
  }
  return { error: { name: error.name, message: error.message, fields } };
}

class NatsBus implements Bus {
  private readonly inbox: string;
  private readonly waiting = new Map<number, Waiting>();
  /** The chunks of answers still coming, by reply subject. */
  private readonly replies = new Map<string, Uint8Array[]>();
  private nextRequest = 0;

  /** The other processes of the deployment, by inbox, with when they were last heard. */
  private readonly peers = new Map<string, number>();
  private readonly confirming = new Map<number, Confirming>();
  /** Set once this process follows events: from then on it announces itself. */
  private announcing?: ReturnType<typeof setInterval>;

  private readonly reconnected: (() => void)[] = [];

  /** Subjects are named under `parley.<deployment>.`. */
  constructor(
    private readonly nc: NatsConnection,
    private readonly log: Logger,
    private readonly prefix: string,
  ) {
    this.inbox = `_INBOX.${crypto.randomUUID()}`;
    this.consume(`${this.inbox}.*`, (msg) => this.onReply(msg));
    this.consume(prefix + PEERS, (msg) => this.onAnnouncement(msg));
    void (async () => {
      for await (const status of nc.status()) {
        // Pings and server updates are routine; losing and regaining the server are not.
        const routine = status.type === "ping" || status.type === "update";
        log[routine ? "debug" : "info"]({ status: status.type }, "bus connection status changed");
        if (status.type !== "reconnect") continue;
        for (const subject of new Set([...this.waiting.values()].map((w) => w.subject))) {
          this.abandonSubject(subject, GRACE_MS);
        }
        if (this.announcing) this.announce(HERE);
        for (const handler of this.reconnected) handler();
      }
    })();
  }

  onReconnect(handler: () => void): void {
    this.reconnected.push(handler);
  }

  abandon(subject: string, graceMs: number): void {
    this.abandonSubject(this.prefix + subject, graceMs);
  }

  private abandonSubject(subject: string, graceMs: number): void {
    const before = this.nextRequest;
    setTimeout(() => this.abandonBefore(before, subject), graceMs);
  }

  /**
   * Runs `handle` for every message on `subject`, in order; a failing handler is logged.
   * Returns the function that unsubscribes, once every message the server sent before it
   * has been handled.
   */
  private consume(subject: string, handle: (msg: Msg) => void): () => Promise<void> {
    const subscription = this.nc.subscribe(subject);
    void (async () => {
      for await (const msg of subscription) {
        try {
          handle(msg);
        } catch (error) {
          this.log.error({ err: error, subject }, "bus message could not be handled");
        }
      }
    })();
    return () => subscription.drain();
  }

  /** Publishes `value` on `subject` in as many chunks as it needs. */
  private send(subject: string, value: unknown, reply?: string, hdrs?: MsgHdrs): void {
    const bytes = encoder.encode(encodeWire(value));
    const size = Math.max(4096, this.nc.info?.max_payload ?? 1024 * 1024) - CHUNK_MARGIN;
    for (let at = 0; at < bytes.length; at += size) {
      const body = bytes.subarray(at, at + size);
      const chunk = new Uint8Array(body.length + 1);
      chunk[0] = at + size >= bytes.length ? LAST : MORE;
      chunk.set(body, 1);
      this.nc.publish(subject, chunk, { ...(reply && { reply }), ...(hdrs && { headers: hdrs }) });
    }
  }

  /**
   * Adds one chunk to the message it belongs to (by `key`, among `parts`); returns the
   * message once its last chunk came, else INCOMPLETE.
   */
  private assemble(parts: Map<string, Uint8Array[]>, key: string, data: Uint8Array): unknown {
    const chunks = parts.get(key) ?? [];
    chunks.push(data.subarray(1));
    if (data[0] !== LAST) {
      parts.set(key, chunks);
      return INCOMPLETE;
    }
    parts.delete(key);
    return decodeWire(decoder.decode(concat(chunks)));
  }

  publish(event: BusEvent): void {
    // What called publish has already happened here; failing it would not undo it.
    try {
      this.send(this.prefix + EVENTS, event, this.inbox);
    } catch (error) {
      this.log.error({ err: error, event: event.kind }, "event not published on the bus");
    }
  }

  publishConfirmed(event: BusEvent, timeoutMs: number): Promise<void> {
    const now = Date.now();
    for (const [inbox, heard] of this.peers) {
      if (now - heard >= PEER_SILENT_MS) this.peers.delete(inbox);
    }
    const pending = new Set(this.peers.keys());
    if (pending.size === 0) {
      this.publish(event);
      return Promise.resolve();
    }
    const id = this.nextRequest++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.log.warn({ event: event.kind, unconfirmed: pending.size }, "event not confirmed");
        done();
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.confirming.delete(id);
        resolve();
      };
      this.confirming.set(id, { pending, done });
      try {
        const confirm = headers();
        confirm.set(CONFIRM_HEADER, "1");
        this.send(this.prefix + EVENTS, event, `${this.inbox}.${id}`, confirm);
      } catch (error) {
        this.log.error({ err: error, event: event.kind }, "event not published on the bus");
        done();
      }
    });
  }

  subscribe(handler: (event: BusEvent) => unknown): void {
    const parts = new Map<string, Uint8Array[]>();
    this.consume(this.prefix + EVENTS, (msg) => {
      const reply = msg.reply ?? "";
      const event = this.assemble(parts, reply, msg.data);
      if (event === INCOMPLETE) return;
      if (!msg.headers?.has(CONFIRM_HEADER)) return void handler(event as BusEvent);
      const confirm = () => {
        try {
          this.nc.publish(reply, encoder.encode(this.inbox));
        } catch (error) {
          // Closing: the publisher stops waiting for this process when it hears it leave.
          this.log.debug({ err: error }, "confirmation not published");
        }
      };
      let applied: unknown;
      try {
        applied = handler(event as BusEvent);
      } finally {
        void Promise.resolve(applied).then(confirm, confirm);
      }
    });
    // A process is waited for once it can confirm events, so only once it follows them;
    // the server registers the subscription above before it relays this announcement.
    if (!this.announcing) {
      this.announce(HERE);
      this.announcing = setInterval(() => this.announce(HERE), ANNOUNCE_MS);
    }
  }

  private announce(presence: typeof HERE | typeof LEAVING): void {
    try {
      this.nc.publish(
        this.prefix + PEERS,
        concat([Uint8Array.of(presence), encoder.encode(this.inbox)]),
      );
    } catch (error) {
      // Closed or closing: the next announcement, if any, says it again.
      this.log.debug({ err: error }, "announcement not published");
    }
  }

  /** Records a process that announced itself (answering a newcomer at once) or left. */
  private onAnnouncement(msg: Msg): void {
    const inbox = decoder.decode(msg.data.subarray(1));
    if (inbox === this.inbox) return;
    if (msg.data[0] === LEAVING) return this.forget(inbox);
    if (!this.peers.has(inbox) && this.announcing) this.announce(HERE);
    this.peers.set(inbox, Date.now());
  }

  /** Stops waiting for process `inbox`: it left, or confirmed what it was sent. */
  private forget(inbox: string, only?: Confirming): void {
    if (!only) this.peers.delete(inbox);
    for (const confirming of only ? [only] : this.confirming.values()) {
      confirming.pending.delete(inbox);
      if (confirming.pending.size === 0) confirming.done();
    }
  }

  async serve(
    subject: string,
    handler: (request: unknown) => Promise<unknown>,
  ): Promise<() => Promise<void>> {
    const parts = new Map<string, Uint8Array[]>();
    const stop = this.consume(this.prefix + subject, (msg) => {
      const reply = msg.reply;
      if (!reply) return;
      if (msg.data.length === 1 && msg.data[0] === PROBE) return this.send(reply, { value: null });
      const request = this.assemble(parts, reply, msg.data);
      if (request === INCOMPLETE) return;
      // Not awaited: requests start in arrival order and run concurrently.
      void handler(request).then(
        (value) => this.send(reply, { value } satisfies Answer),
        (error: unknown) => this.send(reply, answerOf(error)),
      );
    });
    await this.nc.flush();
    return stop;
  }

  request(name: string, request: unknown, timeoutMs: number): Promise<unknown> {
    const subject = this.prefix + name;
    const id = this.nextRequest++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new UnansweredError(`No answer on ${subject} within ${timeoutMs} ms`));
      }, timeoutMs);
      const probes = setInterval(() => this.probe(subject), PROBE_MS);
      this.waiting.set(id, { subject, probes, resolve, reject, timer });
      try {
        this.send(subject, request, `${this.inbox}.${id}`);
      } catch (error) {
        this.settle(id, this.waiting.get(id) as Waiting);
        reject(error);
      }
    });
  }

  /**
   * Asks whether anything still serves `subject`: a live server answers (and the answer is
   * dropped); otherwise the no-responders status abandons the requests sent before.
   */
  private probe(subject: string): void {
    const id = this.nextRequest++;
    const ignore = () => {};
    const timer = setTimeout(() => this.waiting.delete(id), PROBE_MS);
    const waiting = { subject, resolve: ignore, reject: ignore, timer };
    this.waiting.set(id, waiting);
    try {
      this.nc.publish(subject, Uint8Array.of(PROBE), { reply: `${this.inbox}.${id}` });
    } catch {
      // The connection is closing; its close() rejects what still waits.
      this.settle(id, waiting);
    }
  }

  private onReply(msg: Msg): void {
    const id = Number(msg.subject.slice(this.inbox.length + 1));
    const confirming = this.confirming.get(id);
    if (confirming) return this.forget(decoder.decode(msg.data), confirming);
    const waiting = this.waiting.get(id);
    if (!waiting) return;
    if (msg.headers?.code === 503) {
      this.settle(id, waiting);
      waiting.reject(new NoResponderError(`Nothing serves ${waiting.subject}`));
      this.abandonBefore(id, waiting.subject);
      return;
    }
    const answer = this.assemble(this.replies, msg.subject, msg.data) as Answer | typeof INCOMPLETE;
    if (answer === INCOMPLETE) return;
    this.settle(id, waiting);
    if ("value" in answer) waiting.resolve(answer.value);
    else
      waiting.reject(new RemoteError(answer.error.name, answer.error.message, answer.error.fields));
  }

  /**
   * Nothing serves `subject` any more, so the requests sent to it before request `id`,
   * which its server took but never answered, never will be.
   */
  private abandonBefore(id: number, subject: string): void {
    for (const [earlier, waiting] of this.waiting) {
      if (earlier >= id || waiting.subject !== subject) continue;
      this.settle(earlier, waiting);
      waiting.reject(new UnansweredError(`The server of ${subject} went away before answering`));
    }
  }

  private settle(id: number, waiting: Waiting): void {
    clearTimeout(waiting.timer);
    clearInterval(waiting.probes);
    this.waiting.delete(id);
    this.replies.delete(`${this.inbox}.${id}`);
  }

  async close(): Promise<void> {
    if (this.announcing) {
      clearInterval(this.announcing);
      this.announce(LEAVING);
    }
    for (const confirming of this.confirming.values()) confirming.done();
    for (const [id, waiting] of this.waiting) {
      this.settle(id, waiting);
      waiting.reject(new NoResponderError("The bus is closed"));
    }
    // Draining flushes through the server, which waits for a reconnection while the
    // server is unreachable, and may fail when a reconnection attempt gives up: past a
    // short wait, the connection is closed without the goodbye.
    if ((await waitAtMost(this.nc.drain(), DRAIN_WAIT_MS)) !== "done") {
      this.log.warn({}, "bus closed without draining");
      await waitAtMost(this.nc.close(), DRAIN_WAIT_MS);
    }
  }
}

/**
 * Connects to the NATS server at `url` (for example `nats://127.0.0.1:4222`, with
 * `user:password@` or `token@` when the server asks for it) as process `name`, in deployment
 * `deployment`: only processes of the same deployment hear each other. Throws when the
 * server cannot be reached. Once connected, the client reconnects by itself after the
 * server drops it.
 */
export async function connectNatsBus(
  url: string,
  name: string,
  deployment: string,
  log: Logger,
): Promise<Bus> {
  // The client takes credentials as options, not in the server's URL.
  const server = new URL(url);
  const user = decodeURIComponent(server.username);
  const pass = decodeURIComponent(server.password);
  server.username = "";
  server.password = "";
  const nc = await connect({
    servers: server.href,
    name,
    noEcho: true,
    maxReconnectAttempts: -1,
    ...(user && pass && { user, pass }),
    ...(user && !pass && { token: user }),
  });
  return new NatsBus(nc, log.child({ component: "bus" }), `parley.${deployment}.`);
}
