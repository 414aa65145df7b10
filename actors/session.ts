/**
 * The session actor: one per DDP WebSocket connection. It runs the handshake, answers
 * pings at once, runs the client's methods and subscriptions one at a time in arrival
 * order, keeps the connection alive with heartbeats, and obeys signals about its users
 * (logged out, lost or gained a room) the moment they arrive, ahead of the client's own
 * queued work. One bad message is answered with an error and never stops the session.
 *
 * A message's handler never touches the socket's subscriptions: it resolves to the
 * session's new data and its answer frames, and the machine applies them in one step.
 * Signals that arrived while the handler ran are applied again to its result first, so a
 * subscription authorized before a user lost the room, but finished after, never opens.
 */
import { and, assign, enqueueActions, fromPromise, not, setup } from "xstate";
import type { SessionSignal } from "../core/hub.ts";
import { afterSignal, applyChange, dropTopics, logsOut } from "./session-subs.ts";

/**
 * The most frames a session holds, waiting or running. Clients wait for their answers
 * (Rocket.Chat's apps send a few dozen subscriptions and methods at start-up), so a
 * backlog of hundreds means a client flooding the server; past this its socket is closed
 * rather than letting it queue unbounded work. Limitation: a client that subscribes to
 * more rooms than this in one burst, without waiting for answers, is disconnected too.
 */
export const MAX_QUEUED_FRAMES = 500;

/**
 * The most bytes of frames a session holds, waiting or running: four frames of the 1 MB
 * maximum, the same as the outbound buffer allowed to a slow reader. Past this the socket
 * is closed, so that one connection cannot pin memory with large frames it never waits for.
 */
export const MAX_QUEUED_BYTES = 4 * 1024 * 1024;

/** The close code and reason of a socket that queued more than the limits allow. */
export const QUEUE_LIMIT_CLOSE = { code: 1008, reason: "Too many queued messages" } as const;

/** What a session can do to its socket. The WebSocket endpoint implements it. */
export interface SessionTransport {
  send(frame: string): void;
  subscribe(topic: string): void;
  unsubscribe(topic: string): void;
  /** Publishes to a topic's other listeners, not to this socket. */
  publishToOthers(topic: string, frame: string): void;
  /** Routes the signals about these users, and only these, to this session from now on. */
  listenAs(userIds: readonly string[]): void;
  close(code: number, reason: string): void;
  readonly remoteAddress: string;
}

/** A DDP message from the client, already parsed. */
export type DdpMessage = { readonly msg: string } & Readonly<Record<string, unknown>>;

/** One open stream subscription of a session. */
export interface SessionSub {
  readonly name: string;
  readonly eventName: string;
  readonly topics: readonly string[];
  /** The user it was authorized for; null for a stream anyone may read. */
  readonly userId: string | null;
}

/** The part of a session that survives a restart of its actor. */
export interface SessionData {
  readonly userId: string | null;
  readonly hashedToken: string | null;
  readonly subs: Readonly<Record<string, SessionSub>>;
}

/** What handling one message produced: the session's new data and the frames answering it. */
export interface SessionOutcome {
  readonly data: SessionData;
  /** Sent after the new data took effect (after any `ready` or `nosub` it causes). */
  readonly frames: readonly string[];
}

/** The input of the `handle` effect: one message and the session's data when it started. */
export interface HandleInput {
  readonly connId: string;
  readonly transport: SessionTransport;
  readonly data: SessionData;
  readonly message: DdpMessage;
}

/** A signal about user `uid`, delivered to each session that depends on that user. */
export interface SignalEvent {
  readonly type: "signal";
  readonly uid: string;
  readonly signal: SessionSignal;
}

export type SessionEvent =
  /** A frame from the client; `bytes` is its size as received. */
  | { readonly type: "message"; readonly message: DdpMessage; readonly bytes: number }
  | SignalEvent
  | { readonly type: "closed" };

/**
 * Told when the user logged in on connection `connId` changes: `before` and `after` are
 * user ids or null (a login, a logout, another login, or the connection closing).
 */
export type UserChanged = (connId: string, before: string | null, after: string | null) => void;

export interface SessionInput {
  readonly connId: string;
  readonly transport: SessionTransport;
  readonly userChanged?: UserChanged;
  /** State of a crashed predecessor; a fresh session otherwise. */
  readonly restored?: SessionData;
  /** Idle time before the server pings (ms). */
  readonly pingMs: number;
  /** Time to wait for any frame after a ping before closing (ms). */
  readonly timeoutMs: number;
}

interface Queued {
  readonly message: DdpMessage;
  readonly bytes: number;
}

export interface SessionContext {
  readonly connId: string;
  readonly transport: SessionTransport;
  readonly userChanged: UserChanged;
  readonly data: SessionData;
  /** Frames waiting, the first one running. At most MAX_QUEUED_FRAMES of them. */
  readonly queue: readonly Queued[];
  readonly queuedBytes: number;
  /** The data the running message started from. */
  readonly base: SessionData;
  /** Signals that arrived while the running message was handled, to apply to its outcome. */
  readonly missed: readonly SignalEvent[];
  readonly pingMs: number;
  readonly timeoutMs: number;
}

const EMPTY: SessionData = { userId: null, hashedToken: null, subs: {} };

/** The first queued message's outcome, with the signals it missed applied to it. */
function settle(context: SessionContext, outcome: SessionOutcome): SessionData {
  return context.missed.reduce(
    (data, { uid, signal }) => afterSignal(data, uid, signal),
    outcome.data,
  );
}

export const sessionMachine = setup({
  types: {
    context: {} as SessionContext,
    events: {} as SessionEvent,
    input: {} as SessionInput,
  },
  actors: {
    /** Handles one message; resolves to its outcome. Provided by the supervisor. */
    handle: fromPromise<SessionOutcome, HandleInput>(async ({ input }) => ({
      data: input.data,
      frames: [],
    })),
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
    closeOverLimit: ({ context }) =>
      context.transport.close(QUEUE_LIMIT_CLOSE.code, QUEUE_LIMIT_CLOSE.reason),
    closeLoggedOut: ({ context }) => context.transport.close(1000, "Logged out"),
    dropTopics: ({ context }) => dropTopics(context.transport, context.data),
    enqueue: assign(({ context, event }) => {
      if (event.type !== "message") return {};
      return {
        queue: [...context.queue, { message: event.message, bytes: event.bytes }],
        queuedBytes: context.queuedBytes + event.bytes,
      };
    }),
    applySignal: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "signal") return;
      const next = afterSignal(context.data, event.uid, event.signal);
      enqueue(() => applyChange(context.transport, context.data, next));
      enqueue.assign({ data: next });
    }),
    dequeue: assign(({ context }) => ({
      queue: context.queue.slice(1),
      queuedBytes: context.queuedBytes - (context.queue[0]?.bytes ?? 0),
      missed: [],
    })),
    rememberSignal: assign({
      missed: ({ context, event }) =>
        event.type === "signal" ? [...context.missed, event] : context.missed,
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
    overQueueLimit: ({ context, event }) =>
      event.type === "message" &&
      (context.queue.length >= MAX_QUEUED_FRAMES ||
        context.queuedBytes + event.bytes > MAX_QUEUED_BYTES),
    logsOut: ({ context, event }) =>
      event.type === "signal" && logsOut(context.data, event.uid, event.signal),
    // The session's own logout signals its own token; like Meteor, which detaches the token
    // from the connection before removing it, that does not close the connection.
    runsLogout: ({ context }) => {
      const running = context.queue[0]?.message;
      return running?.msg === "method" && running.method === "logout";
    },
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
    userChanged: input.userChanged ?? (() => {}),
    data: input.restored ?? EMPTY,
    queue: [],
    queuedBytes: 0,
    base: input.restored ?? EMPTY,
    missed: [],
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
              { guard: "overQueueLimit", target: "#session.closing", actions: "closeOverLimit" },
              { actions: "enqueue" },
            ],
            signal: [
              { guard: "logsOut", target: "#session.closing", actions: "closeLoggedOut" },
              { actions: "applySignal" },
            ],
          },
          initial: "idle",
          states: {
            idle: { always: { guard: "hasWork", target: "busy" } },
            busy: {
              entry: assign({ base: ({ context }) => context.data, missed: [] }),
              on: {
                signal: [
                  {
                    guard: and(["logsOut", not("runsLogout")]),
                    target: "#session.closing",
                    actions: "closeLoggedOut",
                  },
                  { actions: ["applySignal", "rememberSignal"] },
                ],
              },
              invoke: {
                src: "handle",
                input: ({ context }) => ({
                  connId: context.connId,
                  transport: context.transport,
                  data: context.data,
                  message: (context.queue[0] as Queued).message,
                }),
                onDone: [
                  {
                    // A login whose token was revoked while it ran is never applied: the
                    // logout arrived before the login's user was the session's.
                    guard: ({ context, event }) =>
                      context.missed.some(({ uid, signal }) =>
                        logsOut(event.output.data, uid, signal),
                      ),
                    target: "#session.closing",
                    actions: "closeLoggedOut",
                  },
                  {
                    target: "idle",
                    actions: [
                      enqueueActions(({ context, event, enqueue }) => {
                        const { transport, base } = context;
                        const next = settle(context, event.output);
                        const requested = Object.keys(event.output.data.subs).filter(
                          (id) => !(id in base.subs),
                        );
                        const before = context.data.userId;
                        enqueue(() => {
                          applyChange(transport, context.data, next, requested);
                          for (const frame of event.output.frames) transport.send(frame);
                          if (next.userId !== before)
                            context.userChanged(context.connId, before, next.userId);
                        });
                        enqueue.assign({ data: next });
                      }),
                      "dequeue",
                    ],
                  },
                ],
                // The handler answers every client error itself; reaching here means a fault,
                // which it has logged. Drop the message and carry on.
                onError: { target: "idle", actions: "dequeue" },
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
    // The socket is closing at the server's word: it listens to nothing, and what the
    // client still sends is ignored until the close arrives.
    closing: { entry: "dropTopics" },
    closed: {
      type: "final",
      entry: ({ context }) => {
        if (context.data.userId) context.userChanged(context.connId, context.data.userId, null);
      },
    },
  },
});
