/**
 * The session actor: one per DDP WebSocket connection. It runs the handshake, answers
 * pings at once, runs the client's methods and subscriptions one at a time in arrival
 * order, keeps the connection alive with heartbeats, and obeys signals about its user
 * (logged out, lost access to a room). One bad message is answered with an error and
 * never stops the session.
 */
import { assign, fromPromise, setup } from "xstate";
import type { SessionSignal } from "../core/hub.ts";

/** What a session can do to its socket. The WebSocket endpoint implements it. */
export interface SessionTransport {
  send(frame: string): void;
  subscribe(topic: string): void;
  unsubscribe(topic: string): void;
  /** Publishes to a topic's other listeners, not to this socket. */
  publishToOthers(topic: string, frame: string): void;
  close(code: number, reason: string): void;
  readonly remoteAddress: string;
}

/** A DDP message from the client, already parsed. */
export type DdpMessage = { readonly msg: string } & Readonly<Record<string, unknown>>;

export interface SessionSub {
  readonly name: string;
  readonly eventName: string;
  readonly topics: readonly string[];
}

/** The part of a session that survives a restart of its actor. */
export interface SessionData {
  readonly userId: string | null;
  readonly hashedToken: string | null;
  readonly subs: Readonly<Record<string, SessionSub>>;
}

/** One unit of work for the session, run in arrival order. */
export type SessionWork =
  | { readonly kind: "message"; readonly message: DdpMessage }
  | { readonly kind: "signal"; readonly signal: SessionSignal };

export type SessionEvent =
  | { readonly type: "message"; readonly message: DdpMessage }
  | { readonly type: "signal"; readonly signal: SessionSignal }
  | { readonly type: "closed" };

export interface SessionInput {
  readonly connId: string;
  readonly transport: SessionTransport;
  /** State of a crashed predecessor; a fresh session otherwise. */
  readonly restored?: SessionData;
  /** Idle time before the server pings (ms). */
  readonly pingMs: number;
  /** Time to wait for any frame after a ping before closing (ms). */
  readonly timeoutMs: number;
}

export interface SessionContext {
  readonly connId: string;
  readonly transport: SessionTransport;
  readonly data: SessionData;
  readonly queue: readonly SessionWork[];
  readonly pingMs: number;
  readonly timeoutMs: number;
}

const EMPTY: SessionData = { userId: null, hashedToken: null, subs: {} };

export const sessionMachine = setup({
  types: {
    context: {} as SessionContext,
    events: {} as SessionEvent,
    input: {} as SessionInput,
  },
  actors: {
    /** Runs one message or signal; resolves to the session's new data. Provided by the supervisor. */
    handle: fromPromise<
      SessionData,
      { connId: string; transport: SessionTransport; data: SessionData; work: SessionWork }
    >(async ({ input }) => input.data),
  },
  actions: {
    connected: ({ context }) =>
      context.transport.send(JSON.stringify({ msg: "connected", session: context.connId })),
    refuseVersion: ({ context }) =>
      context.transport.send(JSON.stringify({ msg: "failed", version: "1" })),
    closeProtocol: ({ context }) => context.transport.close(1002, "Protocol error"),
    pong: ({ context, event }) => {
      const id = event.type === "message" ? event.message.id : undefined;
      context.transport.send(
        JSON.stringify(typeof id === "string" ? { msg: "pong", id } : { msg: "pong" }),
      );
    },
    ping: ({ context }) => context.transport.send(JSON.stringify({ msg: "ping" })),
    closeTimeout: ({ context }) => context.transport.close(4000, "TIMEOUT"),
    enqueue: assign({
      queue: ({ context, event }) => {
        if (event.type === "message")
          return [...context.queue, { kind: "message", message: event.message } as const];
        if (event.type === "signal")
          return [...context.queue, { kind: "signal", signal: event.signal } as const];
        return context.queue;
      },
    }),
  },
  guards: {
    isConnect: ({ event }) =>
      event.type === "message" &&
      event.message.msg === "connect" &&
      (event.message.version === undefined ||
        ["1", "pre2", "pre1"].includes(String(event.message.version))),
    isBadConnect: ({ event }) => event.type === "message" && event.message.msg === "connect",
    isPing: ({ event }) => event.type === "message" && event.message.msg === "ping",
    isPong: ({ event }) => event.type === "message" && event.message.msg === "pong",
    hasWork: ({ context }) => context.queue.length > 0,
  },
  delays: {
    ping: ({ context }) => context.pingMs,
    timeout: ({ context }) => context.timeoutMs,
  },
}).createMachine({
  id: "session",
  context: ({ input }) => ({
    connId: input.connId,
    transport: input.transport,
    data: input.restored ?? EMPTY,
    queue: [],
    pingMs: input.pingMs,
    timeoutMs: input.timeoutMs,
  }),
  initial: "handshake",
  on: { closed: ".closed" },
  states: {
    handshake: {
      always: {
        guard: ({ context }) =>
          context.data.userId !== null || Object.keys(context.data.subs).length > 0,
        target: "open",
      },
      on: {
        message: [
          { guard: "isConnect", target: "open", actions: "connected" },
          { guard: "isBadConnect", actions: ["refuseVersion", "closeProtocol"] },
          { guard: "isPing", actions: "pong" },
          { actions: "closeProtocol" },
        ],
      },
      after: { timeout: { actions: "closeTimeout" } },
    },
    open: {
      type: "parallel",
      // Each region reacts to a frame on its own: `work` queues it (targetless, so the work
      // in progress goes on) and `liveness` restarts its idle timer. A handler on `open`
      // itself would be shadowed by the regions' handlers.
      states: {
        work: {
          on: {
            message: [
              { guard: "isPing", actions: "pong" },
              { guard: "isPong" },
              { actions: "enqueue" },
            ],
            signal: { actions: "enqueue" },
          },
          initial: "idle",
          states: {
            idle: { always: { guard: "hasWork", target: "busy" } },
            busy: {
              invoke: {
                src: "handle",
                input: ({ context }) => ({
                  connId: context.connId,
                  transport: context.transport,
                  data: context.data,
                  work: context.queue[0] as SessionWork,
                }),
                onDone: {
                  target: "idle",
                  actions: assign({
                    data: ({ event }) => event.output,
                    queue: ({ context }) => context.queue.slice(1),
                  }),
                },
                // The handler answers every client error itself; reaching here means a fault,
                // which it has logged. Drop the message and carry on.
                onError: {
                  target: "idle",
                  actions: assign({ queue: ({ context }) => context.queue.slice(1) }),
                },
              },
            },
          },
        },
        liveness: {
          initial: "alive",
          states: {
            alive: {
              on: { message: { target: "alive", reenter: true } },
              after: { ping: { target: "waiting", actions: "ping" } },
            },
            waiting: {
              on: { message: { target: "alive" } },
              after: { timeout: { actions: "closeTimeout" } },
            },
          },
        },
      },
    },
    closed: { type: "final" },
  },
});
