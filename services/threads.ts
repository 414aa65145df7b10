/**
 * Thread reads and each user's thread read state, shared by REST (`chat.*Thread*`) and
 * DDP: the threads of a room (all of them, the ones the caller follows, or the ones unread
 * by the caller, optionally matching a text), the replies of a thread, what changed in
 * either since a date, marking a thread read, and following or unfollowing through the
 * room actor. Each transport keeps Rocket.Chat's parameter checks and error texts; the
 * checks every transport shares (threads enabled, message exists) are here.
 */
import { ClientError } from "../core/errors.ts";
import type { Message, Room, User } from "../core/models.ts";
import type { Sort } from "../store/types.ts";
import type { Services } from "./index.ts";
import { MESSAGE_TRASH, SYNC_SINCE_LIMIT } from "./message-sync.ts";
import { dropUnread, type ThreadDeps } from "./thread-commands.ts";

/** Which threads of a room a list shows: all, those the caller follows, or unread ones. */
export type ThreadListType = "all" | "following" | "unread";

/** A window of a list: skip `offset`, at most `count`, ordered by `sort` when given. */
export interface ListWindow {
  readonly offset: number;
  readonly count: number;
  readonly sort?: Sort;
}

/** Whether threads are on (Rocket.Chat's `Threads_enabled`, on unless turned off). */
export function threadsEnabled(services: Services): boolean {
  return services.settings.get<boolean>("Threads_enabled") !== false;
}

/**
 * Room `rid` if `user` may read it; otherwise throws `refusal()`, for a room that does not
 * exist as for one the user may not read, so that a stranger learns nothing.
 */
export async function readableRoom(
  services: Services,
  rid: string,
  user: User,
  refusal: () => ClientError,
): Promise<Room> {
  const room = await services.rooms.byId(rid);
  if (!room || !(await services.authz.canAccessRoom(room, user))) throw refusal();
  return room;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * One window of the threads (parents with replies) of `room` whose text contains `text`
 * (any case), newest reply first unless `sort` says otherwise, with the number of all that
 * match. `following` keeps the threads `uid` follows, `unread` the ones in their `tunread`.
 */
export async function listThreads(
  services: Services,
  room: Room,
  uid: string,
  query: { readonly type: ThreadListType; readonly text?: string | undefined } & ListWindow,
): Promise<{ threads: Message[]; total: number }> {
  const { db } = services.deps;
  const unread =
    query.type === "unread"
      ? ((await db.subscriptions.findOne({ rid: room._id, "u._id": uid }))?.tunread ?? [])
      : undefined;
  const filter = {
    rid: room._id,
    tcount: { $exists: true },
    _hidden: { $ne: true },
    msg: { $regex: escapeRegExp(query.text ?? ""), $options: "i" },
    ...(query.type === "following" && { replies: uid }),
    ...(unread && { _id: { $in: unread } }),
  };
  const [threads, total] = await Promise.all([
    db.messages.find(filter, {
      sort: query.sort ?? { tlm: -1 },
      skip: query.offset,
      limit: query.count,
    }),
    db.messages.countDocuments(filter),
  ]);
  return { threads, total };
}

/**
 * One window of the replies of thread `tmid`, oldest first unless `sort` says otherwise.
 * Old versions of edited replies, kept hidden as edit history, are left out.
 */
export async function threadReplies(
  services: Services,
  tmid: string,
  window: ListWindow,
): Promise<{ messages: Message[]; total: number }> {
  const { db } = services.deps;
  const filter = { tmid, _hidden: { $ne: true } };
  const [messages, total] = await Promise.all([
    db.messages.find(filter, {
      sort: window.sort ?? { ts: 1 },
      skip: window.offset,
      limit: window.count,
    }),
    db.messages.countDocuments(filter),
  ]);
  return { messages, total };
}

/**
 * The threads of room `rid` changed after `since` and the deleted ones, as Rocket.Chat's
 * `{update, remove}`: up to SYNC_SINCE_LIMIT of each, the most recently changed (or
 * deleted) first; `remove` holds the deleted parents as the trash keeps them.
 * Limitation: Rocket.Chat answers them all; a room with more thread changes than the
 * bound since `since` loses the older ones from the answer, and a client must read the
 * rest through `chat.getThreadsList`, which pages.
 */
export async function threadsChangedSince(services: Services, rid: string, since: Date) {
  const { db } = services.deps;
  const [update, remove] = await Promise.all([
    db.messages.find(
      { rid, tcount: { $exists: true }, _hidden: { $ne: true }, _updatedAt: { $gt: since } },
      { sort: { _updatedAt: -1 }, limit: SYNC_SINCE_LIMIT },
    ),
    db.trash.find(
      { __collection__: MESSAGE_TRASH, rid, tcount: { $exists: true }, _deletedAt: { $gt: since } },
      { sort: { _deletedAt: -1 }, limit: SYNC_SINCE_LIMIT },
    ),
  ]);
  return { update, remove };
}

/**
 * The replies of thread `tmid` (in room `rid`) changed or deleted after `since`: up to
 * SYNC_SINCE_LIMIT of each, the most recently changed (or deleted) first. Limitation:
 * Rocket.Chat answers them all; a thread with more changes than the bound since `since`
 * loses the older ones from the answer, and a client must read the rest through
 * `chat.getThreadMessages`, which pages.
 */
export async function repliesChangedSince(
  services: Services,
  rid: string,
  tmid: string,
  since: Date,
) {
  const { db } = services.deps;
  const filter = { __collection__: MESSAGE_TRASH, rid, tmid, _deletedAt: { $gt: since } };
  const [update, remove] = await Promise.all([
    db.messages.find(
      { tmid, _hidden: { $ne: true }, _updatedAt: { $gt: since } },
      { sort: { _updatedAt: -1 }, limit: SYNC_SINCE_LIMIT },
    ),
    db.trash.find(filter, { sort: { _deletedAt: -1 }, limit: SYNC_SINCE_LIMIT }),
  ]);
  return { update, remove };
}

/**
 * Marks thread `tmid` of room `rid` read for user `uid`: drops it from their unread
 * threads and, when it was the last one, clears the subscription's `alert` as Rocket.Chat
 * does. Only the reader's subscription changes, so no room actor is involved. Nothing
 * happens for a user without a subscription or without the thread unread.
 */
export async function readThread(
  deps: ThreadDeps,
  uid: string,
  rid: string,
  tmid: string,
): Promise<void> {
  await dropUnread(deps, rid, uid, tmid, true);
}

/**
 * Follows (or unfollows) the thread of message `mid` as `user`, through the room actor.
 * Throws Rocket.Chat's `error-not-allowed` when threads are off, `error-invalid-message`
 * for an unknown message, and the room actor's errors.
 */
export async function followMessage(
  services: Services,
  user: User,
  mid: string,
  following: boolean,
): Promise<void> {
  const method = following ? "followMessage" : "unfollowMessage";
  if (!threadsEnabled(services)) {
    throw new ClientError("error-not-allowed", "not-allowed", { details: { method } });
  }
  const message = await services.messages.byId(mid);
  if (!message) {
    throw new ClientError("error-invalid-message", "Invalid message", { details: { method } });
  }
  const kind = following ? "follow" : "unfollow";
  await services.deps.rooms.execute(message.rid, { kind, user, mid: message._id });
}
