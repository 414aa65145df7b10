/**
 * What every service is built from: configuration, store, clock, id source, logger, hub,
 * the gateway to room actors, file storage and the bus to other processes. Built once at start-up and passed down.
 */
import type { Bus } from "../bus/bus.ts";
import type { Clock } from "../core/clock.ts";
import type { Config } from "../core/config.ts";
import type { Hub } from "../core/hub.ts";
import type { IdSource } from "../core/ids.ts";
import type { Logger } from "../core/logger.ts";
import type { FileStorage } from "../store/files.ts";
import type { UserStatus } from "../core/models.ts";
import type { RoomCommand, RoomReply } from "./room-commands.ts";
import type { Collections } from "./collections.ts";
import type { QueueCommand, QueueReply } from "./livechat-queue.ts";

/**
 * The way into room actors: every write to a room goes through its actor, which orders
 * the writes, so callers hand it a command and await the reply.
 */
export interface RoomGateway {
  execute<C extends RoomCommand>(rid: string, command: C): Promise<RoomReply<C>>;
}

/**
 * The way into user actors, which keep each user's presence: sessions report their
 * connections, clients their idleness, users the status they choose.
 */
export interface PresenceGateway {
  /** Connection `connId` logged in as user `uid`. */
  connected(uid: string, connId: string): void;
  /** Connection `connId` of user `uid` logged out or closed. */
  disconnected(uid: string, connId: string): void;
  /** The client on `connId` reports its user idle (`away`) or back (`online`). */
  setConnectionStatus(uid: string, connId: string, status: "online" | "away"): Promise<void>;
  /** User `uid` chooses a status (`offline` is invisible), a status text, or both. */
  choose(uid: string, choice: { status?: UserStatus; statusText?: string }): Promise<void>;
}

/**
 * The way into Omnichannel queue actors, one per department plus the default queue (key
 * ""): each orders its queue's enqueues, takes and routing passes.
 */
export interface QueueGateway {
  execute<C extends QueueCommand>(key: string, command: C): Promise<QueueReply<C>>;
  /** Runs a command nobody waits for; a failure is logged, never thrown. */
  tell(key: string, command: QueueCommand): void;
}

export interface Deps {
  readonly config: Config;
  readonly db: Collections;
  readonly clock: Clock;
  readonly ids: IdSource;
  readonly log: Logger;
  readonly hub: Hub;
  readonly rooms: RoomGateway;
  /** Blobs beside the documents (avatars, uploads). */
  readonly files: FileStorage;
  readonly presence: PresenceGateway;
  /** Tells the other processes of the deployment what changed (does nothing alone). */
  readonly bus: Pick<Bus, "publish" | "publishConfirmed">;
  readonly queues: QueueGateway;
}
