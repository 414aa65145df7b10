/**
 * A one-for-one supervisor of keyed children (rooms by id, sessions by connection id).
 * It starts a child on first delivery, restarts a child that fails, and lets a child
 * that finished (passivated) go. Restart intensity is explicit: more than `maxRestarts`
 * failures of one child within `windowMs` quarantine that child for `cooldownMs`, and the
 * supervisor escalates to its parent. Every child has an error observer, so a child's
 * failure is an event here and never an uncaught exception.
 */
import {
  type Actor,
  type ActorOptions,
  type AnyActorLogic,
  assign,
  createActor,
  setup,
  type Snapshot,
} from "xstate";
import type { Clock } from "../core/clock.ts";
import { ServerFault } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";

/** The scheduler clock of XState actors (their timers); tests pass a SimulatedClock. */
export type SchedulerClock = NonNullable<ActorOptions<AnyActorLogic>["clock"]>;

export interface SupervisorOptions<TLogic extends AnyActorLogic> {
  /** Name used in logs. */
  readonly name: string;
  readonly childLogic: TLogic;
  /** The input of child `key`; `failure` is what made its predecessor crash, if one did. */
  readonly inputFor: (key: string, failure: ChildFailure | undefined) => unknown;
  readonly maxRestarts: number;
  readonly windowMs: number;
  readonly cooldownMs: number;
  readonly clock: Clock;
  /** Scheduler clock handed to children (their timers); the system's when absent. */
  readonly actorClock?: SchedulerClock;
  readonly log: Logger;
  /** Called when a child exceeds the restart intensity. */
  readonly onEscalate?: (key: string, failure: ChildFailure) => void;
}

/** A child's crash: the error it failed with and its last snapshot. */
export interface ChildFailure {
  readonly error: unknown;
  readonly snapshot: Snapshot<unknown> | undefined;
}

interface Child {
  readonly ref: Actor<AnyActorLogic>;
  readonly generation: number;
}

export type SupervisorEvent =
  | {
      readonly type: "deliver";
      readonly key: string;
      readonly event: { readonly type: string };
      /** Called instead of delivering when the child is quarantined. */
      readonly refuse: (error: unknown) => void;
    }
  | {
      readonly type: "child.failed";
      readonly key: string;
      readonly generation: number;
      readonly error: unknown;
    }
  | { readonly type: "child.done"; readonly key: string; readonly generation: number }
  | { readonly type: "stop" };

interface SupervisorContext {
  readonly options: SupervisorOptions<AnyActorLogic>;
  /** Live children. Mutated only by the spawn and forget actions of this machine. */
  readonly children: Map<string, Child>;
  /** Failure times per child within the current window. */
  readonly restarts: ReadonlyMap<string, readonly number[]>;
  /** Children refused until the given time. */
  readonly quarantine: ReadonlyMap<string, number>;
  readonly generation: number;
}

function startChild(
  context: SupervisorContext,
  self: { send(event: SupervisorEvent): void },
  key: string,
  failure: ChildFailure | undefined,
): Child {
  const { options } = context;
  const generation = context.generation + 1;
  const ref = createActor(options.childLogic, {
    input: options.inputFor(key, failure),
    ...(options.actorClock && { clock: options.actorClock }),
  });
  ref.subscribe({
    error: (error) => self.send({ type: "child.failed", key, generation, error }),
    complete: () => self.send({ type: "child.done", key, generation }),
  });
  const child = { ref, generation };
  context.children.set(key, child);
  ref.start();
  return child;
}

export const supervisorMachine = setup({
  types: {
    context: {} as SupervisorContext,
    events: {} as SupervisorEvent,
    input: {} as SupervisorOptions<AnyActorLogic>,
  },
  guards: {
    isCurrent: ({ context, event }) =>
      "generation" in event && context.children.get(event.key)?.generation === event.generation,
    withinIntensity: ({ context, event }) => {
      if (event.type !== "child.failed") return false;
      const now = context.options.clock.now().getTime();
      const recent = (context.restarts.get(event.key) ?? []).filter(
        (t) => now - t < context.options.windowMs,
      );
      return recent.length < context.options.maxRestarts;
    },
  },
}).createMachine({
  id: "supervisor",
  context: ({ input }) => ({
    options: input,
    children: new Map(),
    restarts: new Map(),
    quarantine: new Map(),
    generation: 0,
  }),
  initial: "running",
  states: {
    running: {
      on: {
        deliver: {
          actions: [
            assign(({ context, event, self }) => {
              const until = context.quarantine.get(event.key);
              if (until !== undefined && until > context.options.clock.now().getTime()) {
                event.refuse(
                  new ServerFault(
                    "quarantined",
                    `${context.options.name} ${event.key} is unavailable after repeated failures`,
                  ),
                );
                return {};
              }
              let child = context.children.get(event.key);
              const live = child?.ref.getSnapshot().status === "active";
              if (!child || !live) child = startChild(context, self, event.key, undefined);
              child.ref.send(event.event);
              return { generation: Math.max(context.generation, child.generation) };
            }),
          ],
        },
        "child.failed": [
          {
            guard: ({ context, event }) =>
              context.children.get(event.key)?.generation !== event.generation,
          },
          {
            guard: "withinIntensity",
            actions: assign(({ context, event, self }) => {
              const now = context.options.clock.now().getTime();
              const snapshot = context.children
                .get(event.key)
                ?.ref.getSnapshot() as Snapshot<unknown>;
              context.options.log.warn(
                { key: event.key, err: event.error },
                `${context.options.name} child restarted`,
              );
              const child = startChild(context, self, event.key, { error: event.error, snapshot });
              const restarts = new Map(context.restarts);
              restarts.set(event.key, [
                ...(restarts.get(event.key) ?? []).filter(
                  (t) => now - t < context.options.windowMs,
                ),
                now,
              ]);
              return { restarts, generation: child.generation };
            }),
          },
          {
            actions: assign(({ context, event }) => {
              const now = context.options.clock.now().getTime();
              context.options.log.error(
                { key: event.key, err: event.error },
                `${context.options.name} child quarantined`,
              );
              const snapshot = context.children.get(event.key)?.ref.getSnapshot() as
                | Snapshot<unknown>
                | undefined;
              context.children.delete(event.key);
              const quarantine = new Map(context.quarantine);
              quarantine.set(event.key, now + context.options.cooldownMs);
              const restarts = new Map(context.restarts);
              restarts.delete(event.key);
              context.options.onEscalate?.(event.key, { error: event.error, snapshot });
              return { quarantine, restarts };
            }),
          },
        ],
        "child.done": {
          guard: "isCurrent",
          actions: ({ context, event }) => {
            context.children.delete(event.key);
          },
        },
        stop: { target: "stopped" },
      },
    },
    stopped: {
      entry: ({ context }) => {
        for (const child of context.children.values()) child.ref.stop();
        context.children.clear();
      },
      type: "final",
    },
  },
});

/**
 * Starts a supervisor and returns its actor plus a `deliver` helper. The supervisor's
 * own failures go to `onError` instead of becoming uncaught.
 */
export function startSupervisor<TLogic extends AnyActorLogic>(
  options: SupervisorOptions<TLogic>,
  onError: (error: unknown) => void,
): Actor<typeof supervisorMachine> {
  const actor = createActor(supervisorMachine, {
    input: options as SupervisorOptions<AnyActorLogic>,
  });
  actor.subscribe({ error: onError });
  actor.start();
  return actor;
}
