/**
 * The user actor: one per user with a connection in this process (and, briefly, per user
 * whose chosen status changes), the single writer of that user's presence here. It takes
 * presence commands in arrival order, runs them one at a time (each recomputes the
 * user's status from the store and announces a change), and keeps as its cache the ids
 * of the user's connections held by this process. When the last of them is gone and no
 * command waits, it stops. A command refused as a client error is answered and the actor
 * goes on; any other failure is answered and crashes the actor, so that its supervisor
 * restarts it from the store with the commands still waiting.
 */
import { assign, fromPromise, setup } from "xstate";
import { ClientError, ServerFault } from "../core/errors.ts";
import type { PresenceCommand } from "../services/presence.ts";
import type { Reply } from "./room.ts";

/** A command waiting in the actor's mailbox with its caller. */
export interface PendingPresence {
  readonly command: PresenceCommand;
  readonly reply: Reply;
}

export type UserEvent = {
  readonly type: "command";
  readonly command: PresenceCommand;
  readonly reply: Reply;
};

export interface UserInput {
  readonly uid: string;
  /** Commands left by a crashed predecessor, run first. */
  readonly backlog?: readonly PendingPresence[];
}

export interface UserContext {
  readonly uid: string;
  readonly queue: readonly PendingPresence[];
  /** Ids of the user's connections held by this process, as last read from the store. */
  readonly local: readonly string[];
}

/** How a user actor fails: the fault and the commands still waiting for the restarted actor. */
export class UserCrash extends Error {
  override readonly name = "UserCrash";

  constructor(
    readonly fault: unknown,
    readonly waiting: readonly PendingPresence[],
  ) {
    super(`User actor crashed: ${fault instanceof Error ? fault.message : String(fault)}`, {
      cause: fault,
    });
  }
}

export const userMachine = setup({
  types: {
    context: {} as UserContext,
    events: {} as UserEvent,
    input: {} as UserInput,
  },
  actors: {
    /** Reads the ids of the user's connections held by this process. */
    load: fromPromise<string[], { uid: string }>(async () => {
      throw new ServerFault("not-provided", "User actor effect 'load' was not provided");
    }),
    /** Runs one command; resolves to the connections held by this process afterwards. */
    execute: fromPromise<string[], { uid: string; command: PresenceCommand }>(async () => {
      throw new ServerFault("not-provided", "User actor effect 'execute' was not provided");
    }),
  },
  actions: {
    enqueue: assign({
      queue: ({ context, event }) => [
        ...context.queue,
        { command: event.command, reply: event.reply },
      ],
    }),
    crashLoading: ({ context, event }) => {
      throw new UserCrash((event as unknown as { error: unknown }).error, context.queue);
    },
    crashWorking: ({ context, event }) => {
      const error = (event as unknown as { error: unknown }).error;
      (context.queue[0] as PendingPresence).reply.reject(error);
      throw new UserCrash(error, context.queue.slice(1));
    },
  },
  guards: {
    hasWork: ({ context }) => context.queue.length > 0,
    unused: ({ context }) => context.local.length === 0,
  },
}).createMachine({
  id: "user",
  context: ({ input }) => ({
    uid: input.uid,
    queue: [...(input.backlog ?? [])],
    local: [],
  }),
  on: { command: { actions: "enqueue" } },
  initial: "loading",
  states: {
    loading: {
      invoke: {
        src: "load",
        input: ({ context }) => ({ uid: context.uid }),
        onDone: { target: "idle", actions: assign({ local: ({ event }) => event.output }) },
        onError: { actions: "crashLoading" },
      },
    },
    idle: {
      always: [
        { guard: "hasWork", target: "working" },
        { guard: "unused", target: "passivated" },
      ],
    },
    working: {
      invoke: {
        src: "execute",
        input: ({ context }) => ({
          uid: context.uid,
          command: (context.queue[0] as PendingPresence).command,
        }),
        onDone: {
          target: "idle",
          actions: [
            ({ context }) => (context.queue[0] as PendingPresence).reply.resolve(true),
            assign({
              local: ({ event }) => event.output,
              queue: ({ context }) => context.queue.slice(1),
            }),
          ],
        },
        onError: [
          {
            guard: ({ event }) => event.error instanceof ClientError,
            target: "idle",
            actions: [
              ({ context, event }) =>
                (context.queue[0] as PendingPresence).reply.reject(event.error),
              assign({ queue: ({ context }) => context.queue.slice(1) }),
            ],
          },
          { actions: "crashWorking" },
        ],
      },
    },
    passivated: { type: "final" },
  },
});
