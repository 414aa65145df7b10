/**
 * Presence as Rocket.Chat computes it. A user's connections (the `usersSessions` record,
 * shared by every process) give the connection status: online if any connection is
 * active, away if every one is idle, offline without any. The status the user chose
 * (`statusDefault`) wins over it while they are connected: busy stays busy through an
 * idle cycle, and `offline` ("invisible") shows them offline to others. Without any
 * connection a user is offline whatever they chose.
 *
 * The commands here are run by each user's actor (actors/user.ts), the one writer of that
 * user's presence in this process; a change is announced once per watched user on
 * `stream-user-presence`, and on `stream-notify-logged` `user-status`.
 */
import type { Clock } from "../core/clock.ts";
import { ServerFault } from "../core/errors.ts";
import { type Hub, USER_PRESENCE } from "../core/hub.ts";
import type { Logger } from "../core/logger.ts";
import type { User, UserSessionConnection, UserStatus } from "../core/models.ts";
import type { Collections } from "./collections.ts";

/** What a client reports about one connection: in use, or idle. */
export type ConnectionStatus = "online" | "away";

/** What a user actor does: one change to one user's presence. */
export type PresenceCommand =
  /** Connection `connId` logged in as the user. */
  | { readonly kind: "connect"; readonly connId: string }
  /** Connection `connId` logged out or closed. */
  | { readonly kind: "disconnect"; readonly connId: string }
  /** The client on `connId` reported its user idle (`away`) or back (`online`). */
  | { readonly kind: "idle"; readonly connId: string; readonly status: ConnectionStatus }
  /** The user chose a status, a status text, or both. */
  | { readonly kind: "choose"; readonly status?: UserStatus; readonly statusText?: string }
  /** Recompute from the store (after another process's connections were removed). */
  | { readonly kind: "refresh" };

/** The numeric status codes Rocket.Chat's clients read in presence events. */
export const STATUS_CODES: Readonly<Record<UserStatus, 0 | 1 | 2 | 3>> = {
  offline: 0,
  online: 1,
  away: 2,
  busy: 3,
};

/** The longest status text kept; longer texts are cut, as Rocket.Chat cuts them. */
export const MAX_STATUS_TEXT = 120;

/** What presence needs: the store, the clock, the hub, and this process's instance id. */
export interface PresenceDeps {
  readonly db: Collections;
  readonly clock: Clock;
  readonly hub: Hub;
  readonly log: Logger;
  readonly instanceId: string;
  /** Told of every change of a user's shown status, after it is stored (Omnichannel listens). */
  readonly onStatusChange?: (user: User) => void;
}

/** The connection status of a user with `connections`: online wins, then away, else offline. */
export function connectionStatus(connections: readonly { status: string }[]): UserStatus {
  if (connections.some((c) => c.status === "online")) return "online";
  return connections.some((c) => c.status === "away") ? "away" : "offline";
}

/**
 * The status others see: offline without a connection; otherwise the chosen status, or
 * the connection status when the user chose online (or nothing).
 */
export function shownStatus(statusConnection: UserStatus, statusDefault?: UserStatus): UserStatus {
  if (statusConnection === "offline") return "offline";
  return !statusDefault || statusDefault === "online" ? statusConnection : statusDefault;
}

/** A status text as stored: trimmed and at most MAX_STATUS_TEXT characters. */
export function normalizeStatusText(text: string): string {
  return [...text.trim()].slice(0, MAX_STATUS_TEXT).join("");
}

/** Tells everyone who watches `user` about its status (already stored). */
export function announcePresence(hub: Hub, user: User): void {
  const { _id, username, name, roles, status, statusText } = user;
  const code = STATUS_CODES[status] ?? 0;
  hub.emit(USER_PRESENCE, _id, [[username, code, statusText]]);
  hub.emit("stream-notify-logged", "user-status", [[_id, username, code, statusText, name, roles]]);
  hub.emit("stream-notify-user", `${_id}/userData`, [
    {
      type: "updated",
      id: _id,
      diff: { status, ...(statusText && { statusText }) },
      unset: statusText ? {} : { statusText: 1 },
    },
  ]);
}

const PRESENCE_FIELDS = {
  username: 1,
  name: 1,
  roles: 1,
  status: 1,
  statusConnection: 1,
  statusDefault: 1,
  statusText: 1,
} as const;

/** How many times a recompute reads the store again before it gives up as unsettled. */
const MAX_ROUNDS = 5;

/**
 * Recomputes user `uid`'s status from the store and stores it when it changed; announces
 * it when what others see changed (or `announce` says the text changed). Resolves with
 * the ids of the user's connections held by this process.
 *
 * Another process may change the user's connections or chosen status while this one
 * computes, and store its own result first or last. So after a write the records are
 * read again, and the status written again, until a read finds it matching them: then
 * whichever process writes last, it reads afterwards and corrects a status computed from
 * records that have changed since. Throws a ServerFault when the records still change
 * after MAX_ROUNDS reads (the user's actor then tries again).
 */
export async function refreshPresence(
  deps: PresenceDeps,
  uid: string,
  announce = false,
): Promise<string[]> {
  const { db } = deps;
  let pending = announce;
  let announced: UserStatus | undefined;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const [user, session] = await Promise.all([
      db.users.findOne({ _id: uid }, { projection: PRESENCE_FIELDS }),
      db.usersSessions.findOne({ _id: uid }),
    ]);
    const connections = session?.connections ?? [];
    const local = connections.filter((c) => c.instanceId === deps.instanceId).map((c) => c.id);
    if (!user) return local;

    const statusConnection = connectionStatus(connections);
    const status = shownStatus(statusConnection, user.statusDefault);
    if (status === user.status && statusConnection === user.statusConnection) {
      // What this process announced before a later write changed it is corrected, so
      // that its last word on the user is the status stored.
      if (pending || (announced !== undefined && announced !== status)) {
        announcePresence(deps.hub, user);
      }
      return local;
    }
    await db.users.updateOne(
      { _id: uid },
      { $set: { status, statusConnection, _updatedAt: deps.clock.now() } },
    );
    if (pending || status !== user.status) {
      announcePresence(deps.hub, { ...user, status });
      pending = false;
      announced = status;
    }
    if (status !== user.status) deps.onStatusChange?.({ ...user, status, statusConnection });
  }
  throw new ServerFault(
    "presence-unsettled",
    `The presence records of ${uid} kept changing while its status was computed`,
  );
}

/** Runs one presence command for user `uid`; resolves with this process's connections of the user. */
export async function runPresenceCommand(
  deps: PresenceDeps,
  uid: string,
  command: PresenceCommand,
): Promise<string[]> {
  const { db } = deps;
  const now = deps.clock.now();
  switch (command.kind) {
    case "connect": {
      const connection: UserSessionConnection = {
        id: command.connId,
        instanceId: deps.instanceId,
        status: "online",
        _createdAt: now,
        _updatedAt: now,
      };
      // One write when the user has a record without this connection, as on every
      // connection but a user's first; else the record is made, or the connection's
      // earlier entry (from a session that restarted) replaced.
      const added = await db.usersSessions.updateOne(
        { _id: uid, "connections.id": { $ne: command.connId } },
        { $push: { connections: connection } },
      );
      if (added.matchedCount === 0) {
        await db.usersSessions.updateOne(
          { _id: uid },
          { $pull: { connections: { id: command.connId } } },
        );
        await db.usersSessions.updateOne(
          { _id: uid },
          { $push: { connections: connection } },
          { upsert: true },
        );
      }
      return refreshPresence(deps, uid);
    }
    case "disconnect":
      await db.usersSessions.updateOne(
        { _id: uid },
        { $pull: { connections: { id: command.connId } } },
      );
      return refreshPresence(deps, uid);
    case "idle":
      await db.usersSessions.updateOne(
        { _id: uid, "connections.id": command.connId },
        { $set: { "connections.$.status": command.status, "connections.$._updatedAt": now } },
      );
      return refreshPresence(deps, uid);
    case "choose": {
      const { status, statusText } = command;
      const set: Record<string, unknown> = { _updatedAt: now };
      if (status !== undefined) set.statusDefault = status;
      if (statusText !== undefined) set.statusText = normalizeStatusText(statusText);
      const before = await db.users.findOne({ _id: uid }, { projection: { statusText: 1 } });
      await db.users.updateOne({ _id: uid }, { $set: set });
      const textChanged = statusText !== undefined && set.statusText !== before?.statusText;
      return refreshPresence(deps, uid, textChanged || status !== undefined);
    }
    case "refresh":
      return refreshPresence(deps, uid);
  }
}

/**
 * Records this process's heartbeat, then removes the connection records no live process
 * holds: this process's own from an earlier run (`includeOwn`, at start), and those of any
 * process whose heartbeat is older than `staleMs`. Resolves with `uids`, the users whose
 * records were removed, and at start also every user still shown online with a connection
 * record but no connection, whose presence the caller must recompute; and `revived`, true
 * when this process had no heartbeat record (at first start, or after another process
 * swept it as gone, taking its connection records). A process whose connection records a
 * sweep removed always loses its heartbeat record afterwards, so it is revived at its
 * next heartbeat even when that heartbeat raced with the sweep.
 */
export async function sweepConnections(
  deps: PresenceDeps,
  options: { readonly staleMs: number; readonly includeOwn: boolean },
): Promise<{ uids: string[]; revived: boolean }> {
  const { db, instanceId } = deps;
  const now = deps.clock.now();
  const beat = await db.instances.updateOne(
    { _id: instanceId },
    { $set: { _updatedAt: now }, $setOnInsert: { _createdAt: now } },
    { upsert: true },
  );
  const cutoff = now.getTime() - options.staleMs;
  const instances = await db.instances.find({}, { projection: { _id: 1, _updatedAt: 1 } });
  const stale = instances.filter((i) => i._updatedAt.getTime() < cutoff);
  const live = instances
    .filter((i) => !stale.includes(i))
    .map((i) => i._id)
    .filter((id) => !options.includeOwn || id !== instanceId);
  const lost = { connections: { $elemMatch: { instanceId: { $nin: live } } } };
  const affected = await db.usersSessions.find(lost, { projection: { _id: 1 } });
  if (affected.length > 0) {
    // Only the users found, whose status the caller recomputes.
    await db.usersSessions.updateMany(
      { _id: { $in: affected.map((s) => s._id) } },
      { $pull: { connections: { instanceId: { $nin: live } } } },
    );
  }
  if (affected.length > 0 || stale.length > 0) {
    // Every process counted as gone here loses its heartbeat record after its connections,
    // even one whose heartbeat came in meanwhile: its next heartbeat then finds the record
    // missing and records its open connections again. Removing only the records still
    // stale would keep the one that came back, and it would never learn what it lost.
    // Limitation: a sweep cut short between the two writes (its process killed, or its
    // store failing) leaves a live process that came back unaware that its connections
    // are no longer recorded; its users show offline until they reconnect.
    await db.instances.deleteMany({ _id: { $nin: [...live, instanceId] } });
  }
  const uids = new Set(affected.map((s) => s._id));
  if (options.includeOwn) {
    // A crash between removing a record and storing the user's new status leaves a user
    // shown online without a connection: recompute everyone shown online who ever had one.
    const shown = await db.users.find(
      { status: { $in: ["online", "away", "busy"] } },
      { projection: { _id: 1 } },
    );
    const tracked = await db.usersSessions.find(
      { _id: { $in: shown.map((u) => u._id) } },
      { projection: { _id: 1 } },
    );
    for (const { _id } of tracked) uids.add(_id);
  }
  const level = options.includeOwn || uids.size > 0 ? "info" : "debug";
  deps.log[level]({ instanceId, users: uids.size }, "presence records swept");
  return { uids: [...uids], revived: beat.upsertedId !== null };
}
