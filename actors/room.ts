/**
 * The room actor: one per active room, the single writer for that room. It takes
 * commands in arrival order, runs them one at a time against the room's state (loaded
 * from the store when the actor starts), replies to each caller, and passivates after a
 * quiet period, or ends after a command that deleted its room. A command that fails with
 * a client error is answered and the actor carries on (reloading its state first when
 * the store refused a write); any other failure is answered and then crashes the actor,
 * so that its supervisor restarts it from the store with the commands still waiting.
 *
 * Plain messages that queued up while the actor worked run together, as one batch (up to
 * `maxBatch`): they are checked one after another as if sent one by one, then stored with
 * one wait for durability and one update of the room and of its members' subscriptions.
 * Each caller still gets its own answer, in order; a message refused with a client error
 * is answered so and leaves the others of its batch alone. A failure of the batch as a
 * whole answers every command of the batch with it, as above.
 */
import { assign, fromPromise, setup } from "xstate";
import { ClientError, ServerFault } from "../core/errors.ts";
import {
  type BatchResult,
  isBatchableSend,
  type RoomCommand,
  type RoomState,
  StoreRefusal,
} from "../services/room-commands.ts";

/** How a caller is answered. */
export interface Reply {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** A command waiting in the actor's mailbox with its caller. */
export interface Pending {
  readonly command: RoomCommand;
  readonly reply: Reply;
}

export type RoomEvent = {
  readonly type: "command";
  readonly command: RoomCommand;
  readonly reply: Reply;
};

export interface RoomInput {
  readonly rid: string;
  /** Commands left by a crashed predecessor, run first. */
  readonly backlog?: readonly Pending[];
  /** Quiet time after which the actor stops itself (ms). */
  readonly idleMs: number;
  /** Most plain messages run as one batch (default 1: every command alone). */
  readonly maxBatch?: number;
}

export interface RoomContext {
  readonly rid: string;
  readonly state: RoomState | null;
  readonly queue: readonly Pending[];
  readonly idleMs: number;
  readonly maxBatch: number;
  /** How many commands at the head of the queue the running execution covers. */
  readonly running: number;
}

/** How many commands at the head of `queue` run next: a run of plain messages, else one. */
function batchLength(queue: readonly Pending[], maxBatch: number): number {
  let n = 0;
  while (n < queue.length && n < maxBatch && isBatchableSend((queue[n] as Pending).command)) n++;
  return Math.max(1, n);
}

/**
 * How a room actor fails: the fault, plus the commands still waiting, which the
 * supervisor hands to the restarted actor. (The snapshot of a failed actor keeps the
 * context from before the failing transition, so it cannot carry this.)
 */
export class RoomCrash extends Error {
  override readonly name = "RoomCrash";

  constructor(
    readonly fault: unknown,
    readonly waiting: readonly Pending[],
  ) {
    super(`Room actor crashed: ${fault instanceof Error ? fault.message : String(fault)}`, {
      cause: fault,
    });
  }
}

function roomNotFound(): ClientError {
  return new ClientError(
    "error-room-not-found",
    'The required "roomId" or "roomName" param provided does not match any channel',
  );
}

export const roomMachine = setup({
  types: {
    context: {} as RoomContext,
    events: {} as RoomEvent,
    input: {} as RoomInput,
  },
  actors: {
    /** Reads the room's state; resolves null for a room that does not exist. */
    load: fromPromise<RoomState | null, { rid: string }>(async () => {
      throw new ServerFault("not-provided", "Room actor effect 'load' was not provided");
    }),
    /**
     * Runs the commands (several only when all are plain messages); resolves to the new
     * state and one outcome per command.
     */
    execute: fromPromise<BatchResult, { state: RoomState; commands: readonly RoomCommand[] }>(
      async () => {
        throw new ServerFault("not-provided", "Room actor effect 'execute' was not provided");
      },
    ),
  },
  actions: {
    enqueue: assign({
      queue: ({ context, event }) => [
        ...context.queue,
        { command: event.command, reply: event.reply },
      ],
    }),
    rejectAll: ({ context }) => {
      for (const pending of context.queue) pending.reply.reject(roomNotFound());
    },
    crashLoading: ({ context, event }) => {
      // Throwing from an action fails the actor; the supervisor observes it and restarts us.
      throw new RoomCrash((event as unknown as { error: unknown }).error, context.queue);
    },
    crashWorking: ({ context, event }) => {
      const error = (event as unknown as { error: unknown }).error;
      for (const pending of context.queue.slice(0, context.running)) pending.reply.reject(error);
      throw new RoomCrash(error, context.queue.slice(context.running));
    },
    answerRunning: ({ context, event }) => {
      const { outcomes } = (event as unknown as { output: BatchResult }).output;
      outcomes.forEach((outcome, i) => {
        const { reply } = context.queue[i] as Pending;
        if (outcome.ok) reply.resolve(outcome.reply);
        else reply.reject(outcome.error);
      });
    },
    rejectRunning: ({ context, event }) => {
      const error = (event as unknown as { error: unknown }).error;
      for (const pending of context.queue.slice(0, context.running)) pending.reply.reject(error);
    },
    dropRunning: assign({ queue: ({ context }) => context.queue.slice(context.running) }),
  },
  guards: {
    hasWork: ({ context }) => context.queue.length > 0,
  },
  delays: {
    idle: ({ context }) => context.idleMs,
  },
}).createMachine({
  id: "room",
  context: ({ input }) => ({
    rid: input.rid,
    state: null,
    queue: [...(input.backlog ?? [])],
    idleMs: input.idleMs,
    maxBatch: input.maxBatch ?? 1,
    running: 0,
  }),
  on: { command: { actions: "enqueue" } },
  initial: "loading",
  states: {
    loading: {
      invoke: {
        src: "load",
        input: ({ context }) => ({ rid: context.rid }),
        onDone: [
          { guard: ({ event }) => event.output === null, target: "missing" },
          { target: "idle", actions: assign({ state: ({ event }) => event.output }) },
        ],
        onError: { actions: "crashLoading" },
      },
    },
    missing: {
      entry: ["rejectAll", assign({ queue: [] })],
      type: "final",
    },
    idle: {
      always: { guard: "hasWork", target: "working" },
      after: { idle: { target: "passivated" } },
    },
    working: {
      entry: assign({ running: ({ context }) => batchLength(context.queue, context.maxBatch) }),
      invoke: {
        src: "execute",
        input: ({ context }) => ({
          state: context.state as RoomState,
          commands: context.queue.slice(0, context.running).map((p) => p.command),
        }),
        onDone: [
          {
            // The command deleted the room: answer it, then end as for a room that does
            // not exist, refusing what waits behind it.
            guard: ({ event }) => event.output.state.deleted === true,
            target: "missing",
            actions: ["answerRunning", "dropRunning"],
          },
          {
            target: "idle",
            actions: [
              "answerRunning",
              "dropRunning",
              assign({ state: ({ event }) => event.output.state }),
            ],
          },
        ],
        onError: [
          {
            // The store refused a write: answer it as bad input, then reload the state,
            // which a command refused halfway may have left behind the store's.
            guard: ({ event }) => event.error instanceof StoreRefusal,
            target: "loading",
            actions: ["rejectRunning", "dropRunning"],
          },
          {
            guard: ({ event }) => event.error instanceof ClientError,
            target: "idle",
            actions: ["rejectRunning", "dropRunning"],
          },
          { actions: "crashWorking" },
        ],
      },
    },
    passivated: {
      type: "final",
    },
  },
});
