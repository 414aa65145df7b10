/**
 * Stream events across processes: a hub that delivers to this process's connections and
 * publishes on the bus, and the follower that applies what other processes publish.
 */
import type { Hub, SessionSignal } from "../core/hub.ts";
import type { Logger } from "../core/logger.ts";
import type { Bus, BusEvent } from "./bus.ts";

/** A hub whose events also reach the connections of every other process on `bus`. */
export class BusHub implements Hub {
  constructor(
    private readonly local: Hub,
    private readonly bus: Bus,
  ) {}

  emit(stream: string, eventName: string, args: readonly unknown[]): void {
    this.local.emit(stream, eventName, args);
    this.bus.publish({ kind: "emit", stream, eventName, args });
  }

  emitEach(stream: string, eventNames: readonly string[], args: readonly unknown[]): void {
    this.local.emitEach(stream, eventNames, args);
    for (const eventName of eventNames) {
      this.bus.publish({ kind: "emit", stream, eventName, args });
    }
  }

  signal(uid: string, signal: SessionSignal): void {
    this.local.signal(uid, signal);
    this.bus.publish({ kind: "signal", uid, signal });
  }
}

/** What this process keeps of state that other processes change. */
export interface BusFollowers {
  /** The hub of this process's own connections (not a BusHub: events are not re-sent). */
  readonly hub: Hub;
  readonly reloadSettings: () => Promise<void>;
  readonly reloadPermissions: () => Promise<void>;
  /** Resolves once the room's actor in this process (if any) has read it again. */
  readonly refreshRoom: (rid: string, members: boolean) => Promise<void>;
  /** Every room this process holds, after events may have been missed. */
  readonly refreshRooms: () => void;
}

/**
 * Applies every event other processes publish on `bus` to this process; what a reload
 * returns tells a publisher waiting for confirmation that it is applied here.
 */
export function followBus(bus: Bus, followers: BusFollowers, log: Logger): void {
  const reload = (what: string, run: () => Promise<void>) =>
    run().catch((error: unknown) => log.error({ err: error }, `${what} not reloaded`));
  bus.subscribe((event: BusEvent) => {
    switch (event.kind) {
      case "emit":
        return followers.hub.emit(event.stream, event.eventName, event.args);
      case "signal":
        return followers.hub.signal(event.uid, event.signal);
      case "settings-changed":
        return reload("settings", followers.reloadSettings);
      case "permissions-changed":
        return reload("permissions", followers.reloadPermissions);
      case "room-changed":
        return followers.refreshRoom(event.rid, event.members);
    }
  });
  // Events published while this process was cut off from the bus are lost: read again
  // everything they could have changed.
  bus.onReconnect(() => {
    void reload("settings", followers.reloadSettings);
    void reload("permissions", followers.reloadPermissions);
    followers.refreshRooms();
  });
}
