/**
 * The room supervisor: one room actor per active room, started on the first command for
 * that room, restarted from the store when it crashes, and let go when it passivates.
 * It is the RoomGateway through which every write to a room passes.
 */
import { fromPromise } from "xstate";
import { type Pending, RoomCrash, roomMachine } from "../actors/room.ts";
import { ServerFault } from "../core/errors.ts";
import type { RoomGateway } from "../services/context.ts";
import {
  type BatchResult,
  type CommandDeps,
  executeRoomCommand,
  executeSendBatch,
  loadRoomState,
  type PlainSend,
  type RoomCommand,
  type RoomReply,
  type RoomState,
} from "../services/room-commands.ts";
import { type SchedulerClock, startSupervisor } from "./supervisor.ts";

/** The effects of a room actor, replaceable in tests (for example to inject a fault). */
export interface RoomEffects {
  load(rid: string): Promise<RoomState | null>;
  execute(state: RoomState, command: RoomCommand): Promise<{ state: RoomState; reply: unknown }>;
  /**
   * Runs several plain messages at once (see services/send-batch.ts). Without it, every
   * command runs alone.
   */
  sendBatch?(state: RoomState, commands: readonly PlainSend[]): Promise<BatchResult>;
}

/** Most plain messages a room actor runs as one batch. */
export const MAX_SEND_BATCH = 64;

/** The effects that read and write the real store. */
export function storeRoomEffects(deps: CommandDeps): RoomEffects {
  return {
    load: (rid) => loadRoomState(deps, rid),
    execute: (state, command) => executeRoomCommand(deps, state, command),
    sendBatch: (state, commands) => executeSendBatch(deps, state, commands),
  };
}

/** The commands a crashed room actor left waiting. */
function waitingOf(error: unknown): readonly Pending[] {
  return error instanceof RoomCrash ? error.waiting : [];
}

export interface RoomSupervisorOptions {
  /** Quiet time after which a room actor passivates (default 5 minutes). */
  readonly idleMs?: number;
  readonly effects?: RoomEffects;
  readonly actorClock?: SchedulerClock;
}

/** A running room supervisor. */
export interface RoomSupervisor extends RoomGateway {
  /**
   * Makes the actor of room `rid`, when one runs in this process, read the room again
   * after its other commands (another process changed it); starts none otherwise.
   * Resolves once that actor has read it (or at once when none runs).
   */
  refresh(rid: string, members: boolean): Promise<void>;
  /** Makes every room actor of this process read its room and members again. */
  refreshAll(): void;
  /** Number of live room actors (for tests and metrics). */
  activeRooms(): number;
  stop(): void;
}

/** Starts the room supervisor over `deps`. */
export function startRoomSupervisor(
  deps: CommandDeps,
  options: RoomSupervisorOptions = {},
): RoomSupervisor {
  const effects = options.effects ?? storeRoomEffects(deps);
  const logic = roomMachine.provide({
    actors: {
      load: fromPromise(({ input }: { input: { rid: string } }) => effects.load(input.rid)),
      execute: fromPromise(
        async ({ input }: { input: { state: RoomState; commands: readonly RoomCommand[] } }) => {
          const [first] = input.commands;
          if (input.commands.length > 1 && effects.sendBatch) {
            return effects.sendBatch(input.state, input.commands as readonly PlainSend[]);
          }
          const { state, reply } = await effects.execute(input.state, first as RoomCommand);
          return { state, outcomes: [{ ok: true, reply }] } as BatchResult;
        },
      ),
    },
  });
  const log = deps.log.child({ component: "rooms" });
  const supervisor = startSupervisor(
    {
      name: "room",
      childLogic: logic,
      inputFor: (rid, failure) => ({
        rid,
        idleMs: options.idleMs ?? 5 * 60_000,
        maxBatch: effects.sendBatch ? MAX_SEND_BATCH : 1,
        backlog: waitingOf(failure?.error),
      }),
      maxRestarts: 5,
      windowMs: 10_000,
      cooldownMs: 30_000,
      clock: deps.clock,
      log,
      ...(options.actorClock && { actorClock: options.actorClock }),
      onEscalate: (rid, failure) => {
        for (const pending of waitingOf(failure.error)) {
          pending.reply.reject(
            new ServerFault(
              "room-unavailable",
              `Room ${rid} is unavailable after repeated failures`,
            ),
          );
        }
      },
    },
    (error) => log.fatal({ err: error }, "room supervisor failed"),
  );

  return {
    execute<C extends RoomCommand>(rid: string, command: C): Promise<RoomReply<C>> {
      return new Promise((resolve, reject) => {
        const reply: Pending["reply"] = { resolve: resolve as (value: unknown) => void, reject };
        supervisor.send({
          type: "deliver",
          key: rid,
          event: { type: "command", command, reply } as never,
          refuse: reject,
        });
      });
    },
    refresh(rid, members) {
      const child = supervisor.getSnapshot().context.children.get(rid);
      if (child?.ref.getSnapshot().status !== "active") return Promise.resolve();
      return new Promise((resolve) => {
        // A reload that fails leaves the actor to its supervisor; either way it is over.
        const done = () => resolve();
        supervisor.send({
          type: "deliver",
          key: rid,
          event: {
            type: "command",
            command: { kind: "reload", members },
            reply: { resolve: done, reject: done },
          } as never,
          refuse: done,
        });
      });
    },
    refreshAll() {
      for (const rid of supervisor.getSnapshot().context.children.keys())
        void this.refresh(rid, true);
    },
    activeRooms: () =>
      [...supervisor.getSnapshot().context.children.values()].filter(
        (c) => c.ref.getSnapshot().status === "active",
      ).length,
    stop: () => supervisor.send({ type: "stop" }),
  };
}
