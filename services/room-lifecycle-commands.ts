/**
 * Lifecycle commands of the room actor: deleting the room with everything in it, and
 * pruning its history (Rocket.Chat's cleanRoomHistory). A deleted room's actor ends once
 * the deletion is answered, refusing what waited behind it. Discussions of the room are
 * deleted by their own actors, driven from outside (see room-lifecycle.ts): an actor that
 * waited here for another room's actor could wait forever on one waiting for it.
 */
import { ClientError } from "../core/errors.ts";
import type { Message, Room, TrashRecord, User } from "../core/models.ts";
import type { Filter } from "../store/types.ts";
import { MESSAGE_TRASH } from "./message-sync.ts";
import { announceRoom, updateRoom } from "./room-changes.ts";
import type { CommandDeps, CommandHandlers, RoomState } from "./room-commands.ts";
import { onMessagesDeleted } from "./thread-commands.ts";
import { removeRoomUploads, removeUploads, uploadIdsOf } from "./uploads.ts";

/** What `rooms.cleanHistory` and `cleanRoomHistory` prune, with Rocket.Chat's names. */
export interface CleanHistoryOptions {
  readonly latest: Date;
  readonly oldest: Date;
  /** Whether messages sent exactly at `latest` or `oldest` go too. */
  readonly inclusive: boolean;
  /** At most this many messages (0: no limit). */
  readonly limit: number;
  readonly excludePinned: boolean;
  /** Keep the messages that link to discussions, and the discussions. */
  readonly ignoreDiscussion: boolean;
  /** Only strip the files from messages, keeping the messages. */
  readonly filesOnly: boolean;
  /** Only messages of these usernames (none: everyone's). */
  readonly fromUsers: readonly string[];
  /** Keep thread messages (replies, and messages that started a thread). */
  readonly ignoreThreads: boolean;
}

/** What pruning did: how many messages went, and the discussions their removal orphans. */
export interface CleanHistoryResult {
  readonly count: number;
  readonly discussions: readonly string[];
}

/**
 * The lifecycle commands: deletion answers the deleted room, pruning a CleanHistoryResult,
 * unlinking a deleted discussion the room.
 */
export type RoomLifecycleCommand =
  | {
      readonly kind: "lifecycle.erase";
      readonly user: User;
      /** Deleted along with its parent room: no permission of its own is checked. */
      readonly cascade?: boolean;
    }
  | {
      readonly kind: "lifecycle.cleanHistory";
      readonly user: User;
      readonly options: CleanHistoryOptions;
    }
  | { readonly kind: "lifecycle.unlinkDiscussion"; readonly drid: string };

/** How many messages one step of pruning moves to the trash at a time. */
const PRUNE_BATCH = 500;

/** The text Rocket.Chat leaves where a pruned file was. */
const FILE_REMOVED = "_File removed by prune_";

/**
 * Deletes the room: its messages (and their trash records), its subscriptions, then the
 * room itself, so that a failure halfway leaves a room that can be deleted again. Every
 * member hears `removed` on `rooms-changed` and `subscriptions-changed`, and their
 * sessions drop the room's streams. Needs `delete-c`, `delete-p` or `delete-d` in the room
 * unless `cascade` (`error-not-allowed`).
 */
export async function erase(
  deps: CommandDeps,
  state: RoomState,
  user: User,
  cascade: boolean,
): Promise<{ state: RoomState; reply: Room }> {
  const { room } = state;
  if (!cascade && !(await deps.authz.can(user, `delete-${room.t}`, room._id))) {
    throw new ClientError("error-not-allowed", "Not allowed", { details: { method: "eraseRoom" } });
  }
  const { db, hub } = deps;
  const subs = await db.subscriptions.find({ rid: room._id }, { projection: { u: 1, t: 1 } });
  await db.messages.deleteMany({ rid: room._id });
  await db.trash.deleteMany({ rid: room._id });
  await removeRoomUploads(deps, room._id);
  await db.subscriptions.deleteMany({ rid: room._id });
  await db.rooms.deleteOne({ _id: room._id });
  for (const sub of subs) {
    const uid = sub.u._id;
    hub.emit("stream-notify-user", `${uid}/rooms-changed`, ["removed", { _id: room._id }]);
    hub.emit("stream-notify-user", `${uid}/subscriptions-changed`, [
      "removed",
      { _id: sub._id, u: { _id: uid }, rid: room._id, t: room.t },
    ]);
    hub.signal(uid, { type: "room-access-revoked", rid: room._id });
  }
  return { state: { ...state, deleted: true }, reply: room };
}

/** The messages `options` select in room `rid`, as Rocket.Chat's prune query selects them. */
function pruneFilter(rid: string, o: CleanHistoryOptions): Filter {
  const ts = o.inclusive ? { $gte: o.oldest, $lte: o.latest } : { $gt: o.oldest, $lt: o.latest };
  return {
    rid,
    ts,
    ...(o.excludePinned && { pinned: { $ne: true } }),
    ...(o.ignoreDiscussion && { drid: { $exists: false } }),
    ...(o.ignoreThreads && { tmid: { $exists: false }, tcount: { $exists: false } }),
    ...(o.fromUsers.length > 0 && { "u.username": { $in: [...o.fromUsers] } }),
  };
}

/** Replaces the files of the selected messages by Rocket.Chat's prune notice; answers how many. */
async function pruneFiles(deps: CommandDeps, filter: Filter, limit: number) {
  const withFiles = await deps.db.messages.find(
    { ...filter, file: { $exists: true } },
    { projection: { _id: 1, file: 1, files: 1 }, ...(limit > 0 && { limit }) },
  );
  const ids = withFiles.map((m) => m._id);
  if (ids.length === 0) return 0;
  await removeUploads(deps, withFiles.flatMap(uploadIdsOf));
  const notice = { type: "removed-file", color: "#FD745E", text: FILE_REMOVED };
  await deps.db.messages.updateMany(
    { _id: { $in: ids } },
    {
      $set: { attachments: [notice], _updatedAt: deps.clock.now() },
      $unset: { file: "", files: "" },
    },
  );
  return ids.length;
}

/** Moves one batch of selected messages to the trash; answers the messages moved. */
async function pruneBatch(deps: CommandDeps, filter: Filter, size: number): Promise<Message[]> {
  const batch = await deps.db.messages.find(filter, { sort: { ts: 1 }, limit: size });
  if (batch.length === 0) return batch;
  const ids = batch.map((m) => m._id);
  const now = deps.clock.now();
  const records: TrashRecord[] = batch.map((m) => ({
    ...m,
    _deletedAt: now,
    __collection__: MESSAGE_TRASH,
  }));
  await deps.db.trash.deleteMany({ _id: { $in: ids } });
  await deps.db.trash.insertMany(records);
  await deps.db.messages.deleteMany({ _id: { $in: ids } });
  await removeUploads(deps, batch.flatMap(uploadIdsOf));
  return batch;
}

/**
 * Prunes the room's history as Rocket.Chat's cleanRoomHistory: needs
 * `clean-channel-history` in the room and read access (`error-not-allowed`). Deleted
 * messages go to the trash (so that sync reports them), `msgs` drops by their number,
 * the last message is recomputed, and the room hears `<rid>/deleteMessageBulk`. The
 * discussions of pruned linking messages are answered for the caller to delete.
 */
export async function cleanHistory(
  deps: CommandDeps,
  state: RoomState,
  user: User,
  o: CleanHistoryOptions,
): Promise<{ state: RoomState; reply: CleanHistoryResult }> {
  const { room } = state;
  const details = { method: "cleanRoomHistory" };
  if (
    !(await deps.authz.can(user, "clean-channel-history", room._id)) ||
    !(await deps.authz.canAccessRoom(room, user))
  ) {
    throw new ClientError("error-not-allowed", "Not allowed", { details });
  }
  const filter = pruneFilter(room._id, o);
  if (o.filesOnly) {
    return {
      state,
      reply: { count: await pruneFiles(deps, filter, o.limit), discussions: [] },
    };
  }
  const removed: Message[] = [];
  // Each batch deletes what it read, so the loop ends once nothing selected is left.
  for (;;) {
    const size = o.limit > 0 ? Math.min(PRUNE_BATCH, o.limit - removed.length) : PRUNE_BATCH;
    if (size <= 0) break;
    const batch = await pruneBatch(deps, filter, size);
    removed.push(...batch);
    if (batch.length < size) break;
  }
  if (removed.length === 0) return { state, reply: { count: 0, discussions: [] } };
  const next = await afterPrune(deps, state, removed, o);
  const discussions = removed.flatMap((m) => (typeof m.drid === "string" ? [m.drid] : []));
  return { state: next, reply: { count: removed.length, discussions } };
}

/**
 * Counters, last message, the threads that lost replies or their parent (as deleting one
 * message takes them back) and the bulk-delete event after pruning.
 */
async function afterPrune(
  deps: CommandDeps,
  state: RoomState,
  removed: readonly Message[],
  o: CleanHistoryOptions,
): Promise<RoomState> {
  const rid = state.room._id;
  const [last] = await deps.db.messages.find(
    { rid, t: { $exists: false }, $or: [{ tmid: { $exists: false } }, { tshow: true }] },
    { sort: { ts: -1 }, limit: 1 },
  );
  const next = await updateRoom(deps, state, {
    $inc: { msgs: -removed.length },
    ...(last ? { $set: { lastMessage: last } } : { $unset: { lastMessage: "" } }),
  });
  await onMessagesDeleted(deps, next, removed);
  const ts = o.inclusive ? { $gte: o.oldest, $lte: o.latest } : { $gt: o.oldest, $lt: o.latest };
  const event = {
    rid,
    excludePinned: o.excludePinned,
    ignoreDiscussion: o.ignoreDiscussion,
    ts,
    users: [...o.fromUsers],
    ...(o.limit > 0 && { ids: removed.map((m) => m._id) }),
  };
  deps.hub.emit("stream-notify-room", `${rid}/deleteMessageBulk`, [event]);
  await announceRoom(deps, next);
  return next;
}

/**
 * Clears this room's links to discussion `drid`, which was deleted: the messages that
 * started it or announced it lose `drid`, `dcount` and `dlm`, as in Rocket.Chat, and the
 * room hears each changed message.
 */
export async function unlinkDiscussion(deps: CommandDeps, state: RoomState, drid: string) {
  const linking = await deps.db.messages.find(
    { rid: state.room._id, drid },
    { projection: { _id: 1 } },
  );
  for (const { _id } of linking) {
    const message = await deps.db.messages.findOneAndUpdate(
      { _id },
      { $unset: { drid: "", dcount: "", dlm: "" }, $set: { _updatedAt: deps.clock.now() } },
    );
    if (message) deps.hub.emit("stream-room-messages", state.room._id, [message]);
  }
  return { state, reply: state.room };
}

export const roomLifecycleHandlers: CommandHandlers<RoomLifecycleCommand> = {
  "lifecycle.erase": (deps, state, c) => erase(deps, state, c.user, c.cascade ?? false),
  "lifecycle.cleanHistory": (deps, state, c) => cleanHistory(deps, state, c.user, c.options),
  "lifecycle.unlinkDiscussion": (deps, state, c) => unlinkDiscussion(deps, state, c.drid),
};
