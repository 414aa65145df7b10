/**
 * The user actor: one per user with a connection in this process (and, briefly, per user
 * whose chosen status changes), the single writer of that user's presence here. It takes
 * presence commands in arrival order, runs them one at a time (each recomputes the
 * user's status from the store and announces a change), and keeps as its cache the ids
 * of the user's connections held by this process. When the last of them is gone and no
 * command waits, it stops.
 *
 * A command refused as a client error is answered and the actor goes on. Any other
 * failure (the store out of reach, a write whose answer was lost) is answered to the
 * caller, but the change is not dropped: a connection that opened or closed is recorded
 * again, and a status whose write may or may not have been applied is recomputed, with
 * pauses growing from FIRST_RETRY_MS to LAST_RETRY_MS, until it applies. Every command's
 * writes set values rather than add to them, so running one again is harmless.
 */
import { assign, fromPromise, setup } from "xstate";
import { ClientError, ServerFault } from "../core/errors.ts";
import type { PresenceCommand } from "../services/presence.ts";
import type { Reply } from "./room.ts";

/** The pause before the first new attempt after a failure; it doubles at each failure. */
export const FIRST_RETRY_MS = 100;
/** The longest pause between two attempts. */
export const LAST_RETRY_MS = 5_000;

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
}

export interface UserContext {
  readonly uid: string;
  readonly queue: readonly PendingPresence[];
  /** Ids of the user's connections held by this process, as last read from the store. */
  readonly local: readonly string[];
  /** Failed attempts in a row; 0 while commands succeed. */
  readonly failures: number;
}

/** Commands whose caller waits for the answer, as opposed to changes the process tells. */
function awaited(pending: PendingPresence): boolean {
  return pending.command.kind === "idle" || pending.command.kind === "choose";
}

/**
 * The mailbox after its first command failed: `retry`, what must still be done in order
 * (the same connection change, or a recompute in place of a chosen or idle status whose
 * write may or may not have been applied, then the connection changes that wait behind
 * it), and `refused`, the commands whose callers wait, answered with the failure rather
 * than held through an outage. A connection that opened and closed again while its
 * record failed is not recorded at all. Limitation: the recompute announces only a status
 * that changed, so a new status text stored by a choice reported as failed reaches the
 * watchers only with the user's next change.
 */
function afterFailure(queue: readonly PendingPresence[]): {
  retry: PendingPresence[];
  refused: PendingPresence[];
} {
  const [head, ...rest] = queue as [PendingPresence, ...PendingPresence[]];
  const { command } = head;
  const closedSince =
    command.kind === "connect" &&
    rest.some((p) => p.command.kind === "disconnect" && p.command.connId === command.connId);
  const recompute: PendingPresence = { command: { kind: "refresh" }, reply: head.reply };
  const first = awaited(head) ? [recompute] : closedSince ? [] : [head];
  const retry = [...first, ...rest.filter((p) => !awaited(p))];
  return { retry: retry.length > 0 ? retry : [recompute], refused: rest.filter(awaited) };
}

export const userMachine = setup({
  types: {
    context: {} as UserContext,
    events: {} as UserEvent,
    input: {} as UserInput,
  },
  actors: {
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
    /** Tells of a failed attempt and of the pause before the next one. */
    reportFailure: (
      _,
      _params: { error: unknown; command: PresenceCommand; delayMs: number },
    ) => {},
  },
  guards: {
    hasWork: ({ context }) => context.queue.length > 0,
    unused: ({ context }) => context.local.length === 0,
  },
  delays: {
    backoff: ({ context }) => retryDelay(context.failures),
  },
}).createMachine({
  id: "user",
  context: ({ input }) => ({ uid: input.uid, queue: [], local: [], failures: 0 }),
  on: { command: { actions: "enqueue" } },
  initial: "starting",
  states: {
    // Started for a command, which arrives just after the start.
    starting: {
      on: { command: { actions: "enqueue", target: "idle" } },
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
              failures: 0,
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
          {
            target: "retrying",
            actions: [
              {
                type: "reportFailure",
                params: ({ context, event }) => ({
                  error: event.error,
                  command: (context.queue[0] as PendingPresence).command,
                  delayMs: retryDelay(context.failures + 1),
                }),
              },
              ({ context, event }) => {
                (context.queue[0] as PendingPresence).reply.reject(event.error);
                const unavailable = new ServerFault(
                  "presence-unavailable",
                  `Presence of ${context.uid} is unavailable: the store failed`,
                  { cause: event.error },
                );
                for (const p of afterFailure(context.queue).refused) {
                  p.reply.reject(unavailable);
                }
              },
              assign({
                queue: ({ context }) => afterFailure(context.queue).retry,
                failures: ({ context }) => context.failures + 1,
              }),
            ],
          },
        ],
      },
    },
    retrying: {
      after: { backoff: { target: "working" } },
    },
    passivated: { type: "final" },
  },
});

/** The pause before attempt `failures + 1`: doubling from FIRST_RETRY_MS, at most LAST_RETRY_MS. */
export function retryDelay(failures: number): number {
  return Math.min(LAST_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.max(0, failures - 1));
}
