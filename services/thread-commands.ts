/**
 * The room actor's side of threads, with Rocket.Chat's bookkeeping: a reply counts on its
 * thread's parent (`tcount`, `tlm`, and the followers in `replies`) and marks the thread
 * unread for the followers (`tunread`, plus `tunreadUser` for the mentioned and
 * `tunreadGroup` for `@all`/`@here`); deleting a reply takes that back. Following and
 * unfollowing write to the parent message, so they are room commands like every other
 * write to a room. Every subscription changed is announced on `subscriptions-changed` and
 * the parent, as it is afterwards, on `stream-room-messages`.
 *
 * Limitation: a reply kept in its thread still moves the room's `lm`, which the room actor
 * needs to give every message of the room a distinct, increasing time; Rocket.Chat leaves
 * `lm` alone, so a client sorting rooms by `lm` moves a room up for a reply that only the
 * thread's followers see. Limitation: users' highlight words are not kept, so a reply
 * that holds one alerts nobody for it, where Rocket.Chat would alert the user.
 */
import { ClientError } from "../core/errors.ts";
import type { Message, User } from "../core/models.ts";
import type { Deps } from "./context.ts";
import { referableMessage } from "./messages.ts";
import type { CommandDeps, CommandHandlers, RoomState } from "./room-commands.ts";

/** What writing a user's thread read state needs. */
export type ThreadDeps = Pick<Deps, "db" | "hub" | "clock">;

/** Following or unfollowing the thread of message `mid`; answers with the thread's parent. */
export type ThreadCommand =
  | { readonly kind: "follow"; readonly user: User; readonly mid: string }
  | { readonly kind: "unfollow"; readonly user: User; readonly mid: string };

function distinct(ids: readonly string[]): string[] {
  return [...new Set(ids)];
}

/** The users a message mentions by name, and whether it mentions `@all` or `@here`. */
function mentionsOf(message: Message): { ids: string[]; group: boolean } {
  const all = (message.mentions ?? []).map((m) => m._id);
  const group = all.includes("all") || all.includes("here");
  const ids = all.filter((id) => id !== "all" && id !== "here" && id !== message.u._id);
  return { ids: distinct(ids), group };
}

/** Announces the current subscriptions of `uids` in room `rid` to their owners. */
export async function announceSubscriptions(
  deps: ThreadDeps,
  rid: string,
  uids: readonly string[],
): Promise<void> {
  if (uids.length === 0) return;
  const subs = await deps.db.subscriptions.find({ rid, "u._id": { $in: distinct(uids) } });
  for (const sub of subs) {
    deps.hub.emit("stream-notify-user", `${sub.u._id}/subscriptions-changed`, ["updated", sub]);
  }
}

/**
 * Tells the users who hear of a reply about it on `<uid>/notification`. A reply also shown
 * in the room has already notified direct-message members and the mentioned, so those
 * are left out then.
 */
function notifyReply(deps: CommandDeps, state: RoomState, message: Message, uids: string[]) {
  const { room } = state;
  const mentioned = new Set((message.mentions ?? []).map((m) => m._id));
  const notifiedInRoom = (uid: string) =>
    room.t === "d" || mentioned.has(uid) || mentioned.has("all") || mentioned.has("here");
  for (const uid of uids) {
    if (message.tshow && notifiedInRoom(uid)) continue;
    deps.hub.emit("stream-notify-user", `${uid}/notification`, [
      {
        title: room.t === "d" ? `@${message.u.username}` : `#${room.name}`,
        text: message.msg,
        payload: {
          _id: message._id,
          rid: room._id,
          tmid: message.tmid,
          sender: message.u,
          type: room.t,
          name: room.name,
          message: { msg: message.msg },
        },
      },
    ]);
  }
}

/**
 * The thread bookkeeping of a new reply, run by the room actor right after the reply is
 * stored: whoever hears of it (the parent's author on a first reply, else the followers,
 * plus the mentioned) gets `alert` and `open`; the parent counts the reply and adds the
 * sender, the mentioned and (on a first reply) its author to its followers; every follower
 * but the sender gets the thread in `tunread`. Only users who may read the room hear of
 * it or become followers. Returns `state` (the room is unchanged); a message outside any
 * thread, or whose parent is gone, changes nothing.
 */
export async function onReply(
  deps: CommandDeps,
  state: RoomState,
  message: Message,
): Promise<RoomState> {
  const { tmid } = message;
  const rid = state.room._id;
  if (tmid === undefined) return state;
  const parent = await deps.db.messages.findOne({ _id: tmid, rid });
  if (!parent) return state;

  const sender = message.u._id;
  const mentioned = mentionsOf(message);
  const firstReply = !parent.tcount;
  const hearing = await readersOf(
    deps,
    state,
    distinct([
      ...(firstReply ? [parent.u._id] : (parent.replies ?? [])),
      ...(firstReply && state.room.t === "d" ? (state.room.uids ?? []) : []),
      ...mentioned.ids,
    ]).filter((uid) => uid !== sender),
  );
  const mentions = { ...mentioned, ids: mentioned.ids.filter((uid) => hearing.includes(uid)) };
  const now = deps.clock.now();
  await deps.db.subscriptions.updateMany(
    { rid, "u._id": { $in: hearing } },
    { $set: { alert: true, _updatedAt: now } },
  );
  await deps.db.subscriptions.updateMany(
    { rid, "u._id": { $in: [...hearing, sender] } },
    { $set: { open: true, lr: now, _updatedAt: now } },
  );

  const author = parent.u._id === sender || hearing.includes(parent.u._id) ? [parent.u._id] : [];
  const joining = parent.replies?.length ? [sender] : [...author, sender];
  const updated = await deps.db.messages.findOneAndUpdate(
    { _id: tmid },
    {
      $addToSet: { replies: { $each: distinct([...hearing, ...mentions.ids, ...joining]) } },
      $set: { tlm: message.ts, _updatedAt: now },
      $inc: { tcount: 1 },
    },
  );
  const followers = (updated?.replies ?? []).filter(
    (uid) => uid !== sender && !mentions.ids.includes(uid),
  );
  await markUnread(deps, rid, tmid, followers, { tunread: tmid }, mentions.group);
  await markUnread(deps, rid, tmid, mentions.ids, { tunread: tmid, tunreadUser: tmid }, false);

  await announceSubscriptions(deps, rid, [...hearing, sender, ...followers, ...mentions.ids]);
  if (updated) deps.hub.emit("stream-room-messages", rid, [updated]);
  notifyReply(deps, state, message, hearing);
  return state;
}

/**
 * The users among `uids` who may still read the room: its members, and for a room readable
 * without a subscription (a public channel, a discussion of a readable room) whoever
 * Rocket.Chat lets read it. Followers and the mentioned are kept as ids on the parent and
 * outlive a kick or a channel made private, so every reply asks again.
 */
async function readersOf(
  deps: CommandDeps,
  state: RoomState,
  uids: readonly string[],
): Promise<string[]> {
  const outsiders = uids.filter((uid) => !state.members.has(uid));
  if (outsiders.length === 0) return [...uids];
  const users = await deps.db.users.find({ _id: { $in: outsiders } });
  const allowed = new Set(state.members);
  for (const user of users) {
    if (await deps.authz.canAccessRoom(state.room, user)) allowed.add(user._id);
  }
  return uids.filter((uid) => allowed.has(uid));
}

async function markUnread(
  deps: CommandDeps,
  rid: string,
  tmid: string,
  uids: readonly string[],
  lists: Record<string, string>,
  group: boolean,
): Promise<void> {
  if (uids.length === 0) return;
  await deps.db.subscriptions.updateMany(
    { rid, "u._id": { $in: [...uids] } },
    {
      $addToSet: { ...lists, ...(group && { tunreadGroup: tmid }) },
      $set: { _updatedAt: deps.clock.now() },
    },
  );
}

/**
 * Takes a deleted reply back, as Rocket.Chat does: its thread counts one reply less and is
 * no longer unread for anyone in the room. A deleted thread parent is no longer unread for
 * anyone either. Any other message changes nothing.
 */
export function onReplyDeleted(
  deps: CommandDeps,
  state: RoomState,
  message: Message,
): Promise<RoomState> {
  return onMessagesDeleted(deps, state, [message]);
}

/**
 * Takes back the thread bookkeeping of `messages`, already deleted from this room (one
 * message deleted, or a batch pruned): each thread that lost replies has its parent's
 * `tcount` and `tlm` recounted from the replies left (no `tlm` when none is left) and is
 * heard on `stream-room-messages`; every thread that lost replies or its parent is no
 * longer unread for anyone in the room. Hidden copies (edit history, or a message already
 * deleted while history is kept) were never counted and change nothing.
 */
export async function onMessagesDeleted(
  deps: CommandDeps,
  state: RoomState,
  messages: readonly Message[],
): Promise<RoomState> {
  const rid = state.room._id;
  const shown = messages.filter((m) => m._hidden !== true);
  const parents = distinct(shown.flatMap((m) => (m.tmid === undefined ? [] : [m.tmid])));
  const threads = distinct([...parents, ...shown.filter((m) => m.tcount).map((m) => m._id)]);
  if (threads.length === 0) return state;

  for (const tmid of parents) {
    const parent = await recount(deps, rid, tmid);
    if (parent) deps.hub.emit("stream-room-messages", rid, [parent]);
  }
  const unreadBy = await deps.db.subscriptions.find(
    { rid, tunread: { $in: threads } },
    { projection: { "u._id": 1 } },
  );
  await deps.db.subscriptions.updateMany(
    { rid, tunread: { $in: threads } },
    {
      $pullAll: { tunread: threads, tunreadUser: threads, tunreadGroup: threads },
      $set: { _updatedAt: deps.clock.now() },
    },
  );
  await announceSubscriptions(
    deps,
    rid,
    unreadBy.map((s) => s.u._id),
  );
  return state;
}

/** Sets the `tcount` and `tlm` of parent `tmid` from its replies left; answers the parent. */
async function recount(deps: CommandDeps, rid: string, tmid: string) {
  const replies = { rid, tmid, _hidden: { $ne: true } };
  const [latest] = await deps.db.messages.find(replies, { sort: { ts: -1 }, limit: 1 });
  const tcount = await deps.db.messages.countDocuments(replies);
  return deps.db.messages.findOneAndUpdate(
    { _id: tmid, rid, tcount: { $exists: true } },
    {
      $set: { tcount, _updatedAt: deps.clock.now(), ...(latest && { tlm: latest.ts }) },
      ...(!latest && { $unset: { tlm: "" } }),
    },
  );
}

/**
 * Adds `user` to, or removes them from, the followers of the thread of message `mid` in
 * this room (the thread of a reply is its parent's). Unfollowing also drops the thread
 * from the user's unread threads. Throws Rocket.Chat's `error-invalid-message` for a
 * message not in this room and `error-not-allowed` for a user who may not read the room.
 */
async function setFollowing(
  deps: CommandDeps,
  state: RoomState,
  user: User,
  mid: string,
  following: boolean,
) {
  const method = following ? "followMessage" : "unfollowMessage";
  const rid = state.room._id;
  const message = await referableMessage(deps.db, mid, rid);
  if (!message) {
    throw new ClientError("error-invalid-message", "Invalid message", { details: { method } });
  }
  if (!state.members.has(user._id) && !(await deps.authz.canAccessRoom(state.room, user))) {
    throw new ClientError("error-not-allowed", "not-allowed", { details: { method } });
  }

  const tmid = message.tmid ?? message._id;
  const now = deps.clock.now();
  if (!following) await dropUnread(deps, rid, user._id, tmid);
  const parent = await deps.db.messages.findOneAndUpdate(
    { _id: tmid, rid },
    {
      ...(following ? { $addToSet: { replies: user._id } } : { $pull: { replies: user._id } }),
      $set: { _updatedAt: now },
    },
  );
  if (parent) deps.hub.emit("stream-room-messages", rid, [parent]);
  return { state, reply: parent ?? message };
}

/**
 * Drops thread `tmid` from the unread threads of user `uid` in room `rid`; with
 * `clearAlert`, also clears the subscription's `alert` when no unread thread is left.
 * Announces the subscription when it changed and resolves whether it did. The second
 * write checks what is left after the first, so a reply marking another thread unread
 * meanwhile keeps the alert.
 */
export async function dropUnread(
  deps: ThreadDeps,
  rid: string,
  uid: string,
  tmid: string,
  clearAlert = false,
): Promise<boolean> {
  const now = deps.clock.now();
  const { modifiedCount } = await deps.db.subscriptions.updateOne(
    {
      rid,
      "u._id": uid,
      $or: [{ tunread: tmid }, { tunreadUser: tmid }, { tunreadGroup: tmid }],
    },
    { $pull: { tunread: tmid, tunreadUser: tmid, tunreadGroup: tmid }, $set: { _updatedAt: now } },
  );
  if (modifiedCount === 0) return false;
  if (clearAlert) {
    await deps.db.subscriptions.updateOne(
      { rid, "u._id": uid, tunread: { $size: 0 }, alert: true },
      { $set: { alert: false, _updatedAt: now } },
    );
  }
  await announceSubscriptions(deps, rid, [uid]);
  return true;
}

/** The thread commands of a room actor; each answers with the thread's parent. */
export const threadHandlers: CommandHandlers<ThreadCommand> = {
  follow: (deps, state, c) => setFollowing(deps, state, c.user, c.mid, true),
  unfollow: (deps, state, c) => setFollowing(deps, state, c.user, c.mid, false),
};
