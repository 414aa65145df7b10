/**
 * The queue actor: one per Omnichannel queue (a department's, or the default queue), the
 * single router of that queue. It loads the waiting inquiries from the store when it
 * starts, takes commands in arrival order (enqueue, take, route, remove, agent gone) and
 * runs them one at a time, replying to each caller. A command refused as a client error
 * (an inquiry already taken) is answered and the actor goes on; any other failure is
 * answered and crashes the actor, so that its supervisor restarts it with its queue
 * rebuilt from the store and the commands still waiting. With nothing waiting and no
 * command for a while, it passivates.
 */
import { assign, fromPromise, setup } from "xstate";
import { ClientError, ServerFault } from "../core/errors.ts";
import type { QueueCommand, QueueState } from "../services/livechat-queue.ts";
import type { Reply } from "./room.ts";

/** A command waiting in the actor's mailbox with its caller. */
export interface PendingQueueCommand {
  readonly command: QueueCommand;
  readonly reply: Reply;
}

export type QueueEvent = {
  readonly type: "command";
  readonly command: QueueCommand;
  readonly reply: Reply;
};

export interface QueueInput {
  /** The department id, or "" for the default queue. */
  readonly key: string;
  /** Commands left by a crashed predecessor, run first. */
  readonly backlog?: readonly PendingQueueCommand[];
  /** Quiet time after which an empty queue's actor stops itself (ms). */
  readonly idleMs: number;
}

export interface QueueContext {
  readonly key: string;
  readonly state: QueueState | null;
  readonly mailbox: readonly PendingQueueCommand[];
  readonly idleMs: number;
}

/** How a queue actor fails: the fault and the commands still waiting for the restarted actor. */
export class QueueCrash extends Error {
  override readonly name = "QueueCrash";

  constructor(
    readonly fault: unknown,
    readonly waiting: readonly PendingQueueCommand[],
  ) {
    super(`Queue actor crashed: ${fault instanceof Error ? fault.message : String(fault)}`, {
      cause: fault,
    });
  }
}

function head(context: QueueContext): PendingQueueCommand {
  return context.mailbox[0] as PendingQueueCommand;
}

export const queueMachine = setup({
  types: {
    context: {} as QueueContext,
    events: {} as QueueEvent,
    input: {} as QueueInput,
  },
  actors: {
    /** Reads the queue's waiting inquiries. */
    load: fromPromise<QueueState, { key: string }>(async () => {
      throw new ServerFault("not-provided", "Queue actor effect 'load' was not provided");
    }),
    /** Runs one command; resolves to the new state and the caller's reply. */
    execute: fromPromise<
      { state: QueueState; reply: unknown },
      { state: QueueState; command: QueueCommand }
    >(async () => {
      throw new ServerFault("not-provided", "Queue actor effect 'execute' was not provided");
    }),
  },
  actions: {
    enqueue: assign({
      mailbox: ({ context, event }) => [
        ...context.mailbox,
        { command: event.command, reply: event.reply },
      ],
    }),
    crashLoading: ({ context, event }) => {
      throw new QueueCrash((event as unknown as { error: unknown }).error, context.mailbox);
    },
    crashWorking: ({ context, event }) => {
      const error = (event as unknown as { error: unknown }).error;
      head(context).reply.reject(error);
      throw new QueueCrash(error, context.mailbox.slice(1));
    },
  },
  guards: {
    hasWork: ({ context }) => context.mailbox.length > 0,
    empty: ({ context }) => (context.state?.waiting.length ?? 0) === 0,
  },
  delays: {
    idle: ({ context }) => context.idleMs,
  },
}).createMachine({
  id: "queue",
  context: ({ input }) => ({
    key: input.key,
    state: null,
    mailbox: [...(input.backlog ?? [])],
    idleMs: input.idleMs,
  }),
  on: { command: { actions: "enqueue" } },
  initial: "loading",
  states: {
    loading: {
      invoke: {
        src: "load",
        input: ({ context }) => ({ key: context.key }),
        onDone: { target: "idle", actions: assign({ state: ({ event }) => event.output }) },
        onError: { actions: "crashLoading" },
      },
    },
    idle: {
      always: { guard: "hasWork", target: "working" },
      after: { idle: { guard: "empty", target: "passivated" } },
    },
    working: {
      invoke: {
        src: "execute",
        input: ({ context }) => ({
          state: context.state as QueueState,
          command: head(context).command,
        }),
        onDone: {
          target: "idle",
          actions: [
            ({ context, event }) => head(context).reply.resolve(event.output.reply),
            assign({
              state: ({ event }) => event.output.state,
              mailbox: ({ context }) => context.mailbox.slice(1),
            }),
          ],
        },
        onError: [
          {
            guard: ({ event }) => event.error instanceof ClientError,
            target: "idle",
            actions: [
              ({ context, event }) => head(context).reply.reject(event.error),
              assign({ mailbox: ({ context }) => context.mailbox.slice(1) }),
            ],
          },
          { actions: "crashWorking" },
        ],
      },
    },
    passivated: { type: "final" },
  },
});
