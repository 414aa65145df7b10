/**
 * The queue supervisor: one queue actor per Omnichannel queue (each department's and the
 * default one), started on the first command for that queue, restarted with its queue
 * rebuilt from the store when it crashes, and let go when it passivates. It is the
 * QueueGateway through which every enqueue, take and routing pass goes.
 */
import { fromPromise } from "xstate";
import { type PendingQueueCommand, QueueCrash, queueMachine } from "../actors/queue.ts";
import { ServerFault } from "../core/errors.ts";
import type { QueueGateway } from "../services/context.ts";
import {
  executeQueueCommand,
  loadQueueState,
  type QueueCommand,
  type QueueReply,
  type QueueState,
} from "../services/livechat-queue.ts";
import type { CommandDeps } from "../services/room-commands.ts";
import { type SchedulerClock, startSupervisor } from "./supervisor.ts";

/** The effects of a queue actor, replaceable in tests (for example to inject a fault). */
export interface QueueEffects {
  load(key: string): Promise<QueueState>;
  execute(state: QueueState, command: QueueCommand): Promise<{ state: QueueState; reply: unknown }>;
}

/** The effects that read and write the real store. */
export function storeQueueEffects(deps: CommandDeps): QueueEffects {
  return {
    load: (key) => loadQueueState(deps, key),
    execute: (state, command) => executeQueueCommand(deps, state, command),
  };
}

export interface QueueSupervisorOptions {
  /** Quiet time after which an empty queue's actor passivates (default 5 minutes). */
  readonly idleMs?: number;
  readonly effects?: QueueEffects;
  readonly actorClock?: SchedulerClock;
}

/** A running queue supervisor. */
export interface QueueSupervisor extends QueueGateway {
  /** Number of live queue actors (for tests and metrics). */
  activeQueues(): number;
  stop(): void;
}

/** Starts the queue supervisor over `deps`. */
export function startQueueSupervisor(
  deps: CommandDeps,
  options: QueueSupervisorOptions = {},
): QueueSupervisor {
  const effects = options.effects ?? storeQueueEffects(deps);
  const logic = queueMachine.provide({
    actors: {
      load: fromPromise(({ input }: { input: { key: string } }) => effects.load(input.key)),
      execute: fromPromise(({ input }: { input: { state: QueueState; command: QueueCommand } }) =>
        effects.execute(input.state, input.command),
      ),
    },
  });
  const log = deps.log.child({ component: "queues" });
  const waitingOf = (error: unknown): readonly PendingQueueCommand[] =>
    error instanceof QueueCrash ? error.waiting : [];
  const supervisor = startSupervisor(
    {
      name: "queue",
      childLogic: logic,
      inputFor: (key, failure) => ({
        key,
        idleMs: options.idleMs ?? 5 * 60_000,
        backlog: waitingOf(failure?.error),
      }),
      maxRestarts: 5,
      windowMs: 10_000,
      cooldownMs: 30_000,
      clock: deps.clock,
      log,
      ...(options.actorClock && { actorClock: options.actorClock }),
      onEscalate: (key, failure) => {
        for (const pending of waitingOf(failure.error)) {
          pending.reply.reject(
            new ServerFault(
              "queue-unavailable",
              `Queue ${key} is unavailable after repeated failures`,
            ),
          );
        }
      },
    },
    (error) => log.fatal({ err: error }, "queue supervisor failed"),
  );

  function execute<C extends QueueCommand>(key: string, command: C): Promise<QueueReply<C>> {
    return new Promise((resolve, reject) => {
      supervisor.send({
        type: "deliver",
        key,
        event: { type: "command", command, reply: { resolve, reject } } as never,
        refuse: reject,
      });
    });
  }

  return {
    execute,
    tell(key, command) {
      execute(key, command).catch((error: unknown) =>
        log.error({ err: error, queue: key, command: command.kind }, "queue command failed"),
      );
    },
    activeQueues: () =>
      [...supervisor.getSnapshot().context.children.values()].filter(
        (c) => c.ref.getSnapshot().status === "active",
      ).length,
    stop: () => supervisor.send({ type: "stop" }),
  };
}
