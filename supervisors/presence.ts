/**
 * The presence supervisor: one user actor per user with a connection in this process,
 * started on the first presence command for that user, restarted when it crashes, and
 * let go when the user's last connection here is gone. It is the
 * PresenceGateway through which sessions and status changes reach the user actors, and it
 * keeps this process's heartbeat, removing the connection records of processes that
 * stopped beating.
 */
import { fromPromise } from "xstate";
import { userMachine } from "../actors/user.ts";
import type { PresenceGateway } from "../services/context.ts";
import {
  type ConnectionStatus,
  type PresenceCommand,
  type PresenceDeps,
  runPresenceCommand,
  sweepConnections,
} from "../services/presence.ts";
import { type SchedulerClock, startSupervisor } from "./supervisor.ts";

export interface PresenceSupervisorOptions {
  readonly actorClock?: SchedulerClock;
  /** How often this process records its heartbeat and sweeps lost records (default 30 s). */
  readonly heartbeatMs?: number;
  /** Age of a heartbeat after which a process counts as gone (default 3 heartbeats). */
  readonly staleMs?: number;
}

/** A running presence supervisor. */
export interface PresenceSupervisor extends PresenceGateway {
  /**
   * Removes the records this process left in an earlier run and those of processes gone
   * silent, and recomputes their users; then beats every `heartbeatMs`. Run once at start,
   * before connections are accepted.
   */
  start(): Promise<void>;
  /** Number of live user actors (for tests and metrics). */
  activeUsers(): number;
  /**
   * For a clean stop, after the connections closed: stops beating, removes this process's
   * connection records and its heartbeat, and recomputes (and announces) their users, so
   * nobody stays online through a process that is gone.
   */
  release(): Promise<void>;
  stop(): void;
}

const wallClock: SchedulerClock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
};

/** Starts the presence supervisor over `deps`. */
export function startPresenceSupervisor(
  deps: PresenceDeps,
  options: PresenceSupervisorOptions = {},
): PresenceSupervisor {
  const log = deps.log.child({ component: "presence" });
  const logic = userMachine.provide({
    actors: {
      execute: fromPromise(({ input }: { input: { uid: string; command: PresenceCommand } }) =>
        runPresenceCommand(deps, input.uid, input.command),
      ),
    },
    actions: {
      reportFailure: ({ context }, { error, command, delayMs }) =>
        log.warn(
          { err: error, userId: context.uid, command: command.kind, delayMs },
          "presence change failed; it is tried again",
        ),
    },
  });
  const supervisor = startSupervisor(
    {
      name: "user",
      childLogic: logic,
      inputFor: (uid) => ({ uid }),
      maxRestarts: 5,
      windowMs: 10_000,
      cooldownMs: 30_000,
      clock: deps.clock,
      log,
      ...(options.actorClock && { actorClock: options.actorClock }),
    },
    (error) => log.fatal({ err: error }, "presence supervisor failed"),
  );

  function run(uid: string, command: PresenceCommand): Promise<unknown> {
    return new Promise((resolve, reject) => {
      supervisor.send({
        type: "deliver",
        key: uid,
        event: { type: "command", command, reply: { resolve, reject } } as never,
        refuse: reject,
      });
    });
  }

  /**
   * Runs a command nobody waits for. A failure is never thrown: the user's actor reports
   * it and tries the change again.
   */
  function tell(uid: string, command: PresenceCommand): void {
    run(uid, command).catch((error: unknown) =>
      log.debug({ err: error, userId: uid, command: command.kind }, "presence change deferred"),
    );
  }

  const clock = options.actorClock ?? wallClock;
  const heartbeatMs = options.heartbeatMs ?? 30_000;
  const staleMs = options.staleMs ?? 3 * heartbeatMs;
  let timer: unknown;
  let stopped = false;

  /** The connections of each user that this process holds, as it was told of them. */
  const live = new Map<string, Set<string>>();

  async function sweep(includeOwn: boolean): Promise<void> {
    const { uids, revived } = await sweepConnections(deps, { staleMs, includeOwn });
    // A recompute that fails is tried again by the user's actor; the sweep goes on.
    await Promise.allSettled(uids.map((uid) => run(uid, { kind: "refresh" })));
    if (revived && !includeOwn) {
      // Another process found this one silent (the store or the bus was out of reach) and
      // removed its connections: record the ones still open again.
      log.warn(
        { users: live.size },
        "this process was counted as gone; its connections are recorded again",
      );
      for (const [uid, connIds] of live) {
        for (const connId of connIds) tell(uid, { kind: "connect", connId });
      }
    }
  }

  function beat(): void {
    timer = clock.setTimeout(() => {
      if (stopped) return;
      sweep(false)
        .catch((error: unknown) => log.error({ err: error }, "presence heartbeat failed"))
        .finally(() => {
          if (!stopped) beat();
        });
    }, heartbeatMs);
  }

  return {
    connected: (uid, connId) => {
      live.set(uid, (live.get(uid) ?? new Set()).add(connId));
      tell(uid, { kind: "connect", connId });
    },
    disconnected: (uid, connId) => {
      const connIds = live.get(uid);
      connIds?.delete(connId);
      if (connIds?.size === 0) live.delete(uid);
      tell(uid, { kind: "disconnect", connId });
    },
    setConnectionStatus: async (uid, connId, status: ConnectionStatus) => {
      await run(uid, { kind: "idle", connId, status });
    },
    choose: async (uid, choice) => {
      await run(uid, { kind: "choose", ...choice });
    },
    async start() {
      await sweep(true);
      beat();
    },
    activeUsers: () =>
      [...supervisor.getSnapshot().context.children.values()].filter(
        (c) => c.ref.getSnapshot().status === "active",
      ).length,
    async release() {
      stopped = true;
      if (timer !== undefined) clock.clearTimeout(timer);
      live.clear();
      await sweep(true);
      await deps.db.instances.deleteOne({ _id: deps.instanceId });
    },
    stop() {
      stopped = true;
      if (timer !== undefined) clock.clearTimeout(timer);
      supervisor.send({ type: "stop" });
    },
  };
}
