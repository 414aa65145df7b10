/**
 * The session supervisor: one session actor per open DDP connection. A session actor that
 * crashes is restarted with its last known login and subscriptions, on the same socket.
 */
import { fromPromise } from "xstate";
import {
  type HandleInput,
  type SessionContext,
  type SessionEvent,
  sessionMachine,
  type SessionTransport,
} from "../actors/session.ts";
import { sessionEffects, type SessionEffectsOptions } from "../actors/session-effects.ts";
import type { Clock } from "../core/clock.ts";
import type { PresenceGateway } from "../services/context.ts";
import { type SchedulerClock, startSupervisor } from "./supervisor.ts";

export interface SessionSupervisorOptions extends SessionEffectsOptions {
  readonly clock: Clock;
  readonly actorClock?: SchedulerClock;
  /** The transport of an open connection, looked up when its actor (re)starts. */
  readonly transportOf: (connId: string) => SessionTransport | undefined;
  /** Idle time before the server pings (default 25 s). */
  readonly pingMs?: number;
  /** Time to wait for any frame after a ping before closing (default 30 s). */
  readonly timeoutMs?: number;
  /** Where the sessions report which user each connection is logged in as. */
  readonly presence?: PresenceGateway;
}

export interface SessionSupervisor {
  /** Delivers an event to connection `connId`'s session actor, starting it if needed. */
  deliver(connId: string, event: SessionEvent): void;
  stop(): void;
}

/** Starts the session supervisor. */
export function startSessionSupervisor(options: SessionSupervisorOptions): SessionSupervisor {
  const handle = sessionEffects(options);
  const logic = sessionMachine.provide({
    actors: { handle: fromPromise(({ input }: { input: HandleInput }) => handle(input)) },
  });
  const log = options.log.child({ component: "sessions" });
  const presence = options.presence;
  const userChanged = (connId: string, before: string | null, after: string | null) => {
    if (before) presence?.disconnected(before, connId);
    if (after) presence?.connected(after, connId);
  };
  const supervisor = startSupervisor(
    {
      name: "session",
      childLogic: logic,
      inputFor: (connId, failure) => ({
        connId,
        transport: options.transportOf(connId),
        userChanged,
        restored: (failure?.snapshot as { context?: SessionContext } | undefined)?.context?.data,
        pingMs: options.pingMs ?? 25_000,
        timeoutMs: options.timeoutMs ?? 30_000,
      }),
      maxRestarts: 3,
      windowMs: 10_000,
      cooldownMs: 60_000,
      clock: options.clock,
      log,
      ...(options.actorClock && { actorClock: options.actorClock }),
      onEscalate: (connId, failure) => {
        // The socket's close will reach a fresh actor that knows no user: let go of the
        // failed session's user here, so that it does not stay online.
        const uid = (failure.snapshot as { context?: SessionContext } | undefined)?.context?.data
          .userId;
        if (uid) userChanged(connId, uid, null);
        options.transportOf(connId)?.close(1011, "Session failed");
      },
    },
    (error) => log.fatal({ err: error }, "session supervisor failed"),
  );
  return {
    deliver: (connId, event) =>
      supervisor.send({ type: "deliver", key: connId, event, refuse: () => {} }),
    stop: () => supervisor.send({ type: "stop" }),
  };
}
