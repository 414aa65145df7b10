/**
 * Message commands of the room actor: sending, editing and deleting, with mentions,
 * `md`, unread counters and the fan-out of each change, under Rocket.Chat's rules for
 * editing and deleting (settings, permissions, time limits, kept history). Also the system
 * messages that membership changes post.
 */
import { ClientError } from "../core/errors.ts";
import type { Message, Room, User, UserRef } from "../core/models.ts";
import { DuplicateKeyError } from "../store/types.ts";
import { markdown } from "./markdown.ts";
import { assertGroupMentionsAllowed, noticeMentionsOutsideRoom, referencesIn } from "./mentions.ts";
import { recordDeletion } from "./message-sync.ts";
import { assertMessageSize, validateMessage } from "./message-validation.ts";
import { referableMessage } from "./messages.ts";
import type { CommandDeps, CommandHandlers, MessageDraft, RoomState } from "./room-commands.ts";
import { roomView } from "./rooms.ts";
import { onReply, onReplyDeleted } from "./thread-commands.ts";
import { recordUnread } from "./unread.ts";
import { removeUploads, uploadIdsOf } from "./uploads.ts";
export function ref(user: User): UserRef {
  return {
    _id: user._id,
    username: user.username,
    ...(user.name !== undefined && { name: user.name }),
  };
}

/** The links of `text`, as Rocket.Chat lists them in `urls` before fetching previews. */
export function urlsIn(text: string): { url: string }[] {
  return [...text.matchAll(/https?:\/\/[^\s<>]+/g)].map((m) => ({ url: m[0] }));
}

/** The time elapsed since `ts`, in milliseconds. */
function ageOf(deps: CommandDeps, ts: Date): number {
  return deps.clock.now().getTime() - ts.getTime();
}

/**
 * Throws unless `user` may post in the room, as Rocket.Chat's canSendMessage checks before
 * a send or an edit: `error-not-allowed` for a reader who may not access the room,
 * `error-room-archived`, and the read-only sentence without `post-readonly`.
 */
async function assertMayPost(deps: CommandDeps, state: RoomState, user: User, method: string) {
  const { room } = state;
  if (!state.members.has(user._id) && !(await deps.authz.canAccessRoom(room, user))) {
    throw new ClientError("error-not-allowed", "Not allowed", { details: { method } });
  }
  if (room.archived) throw new ClientError("error-room-archived", "Room is archived");
  if (room.ro && !(await deps.authz.can(user, "post-readonly", room._id))) {
    // Rocket.Chat raises this one as a bare Error: REST shows the sentence alone.
    throw new ClientError(
      "error-not-allowed",
      "You can't send messages because the room is readonly.",
      { plain: true },
    );
  }
}

/**
 * Stores `message` in the room of `state`, then records it there (see recordStored).
 * Throws `error-duplicated-message` when a message with its `_id` exists.
 */
export async function persistMessage(
  deps: CommandDeps,
  state: RoomState,
  message: Message,
  countsUnread: boolean,
): Promise<RoomState> {
  try {
    await deps.db.messages.insertOne(message);
  } catch (error) {
    throw duplicateAsClientError(error);
  }
  return recordStored(deps, state, [message], countsUnread);
}

/** A DuplicateKeyError of a message insert as Rocket.Chat's `error-duplicated-message`; anything else as is. */
export function duplicateAsClientError(error: unknown): unknown {
  if (!(error instanceof DuplicateKeyError)) return error;
  return new ClientError("error-duplicated-message", "The message is a duplicate", {
    cause: error,
  });
}

/**
 * What the room does with `messages`, just stored in this order: counts them and makes the
 * last one its last message, streams each to the room, and when they `countsUnread`,
 * records them in the members' subscriptions and tells each member once that the room
 * changed. Resolves to the room's new state.
 */
export async function recordStored(
  deps: CommandDeps,
  state: RoomState,
  messages: readonly Message[],
  countsUnread: boolean,
): Promise<RoomState> {
  const { db, hub } = deps;
  const last = messages.at(-1) as Message;
  const room = await db.rooms.findOneAndUpdate(
    { _id: state.room._id },
    {
      $inc: { msgs: messages.length },
      $set: {
        lm: last.ts,
        _updatedAt: last.ts,
        ...(countsUnread && { lastMessage: last }),
      },
    },
  );
  if (!room) throw new ClientError("error-room-not-found", "Room not found");
  for (const message of messages) hub.emit("stream-room-messages", room._id, [message]);

  if (countsUnread) {
    await recordUnread(deps, room, state.members, messages);
    notifyMembers(deps, room, state.members, messages);
  }
  return { ...state, room };
}

/** Tells each member once that the room changed, and notifies DMs and mentions per message. */
function notifyMembers(
  deps: CommandDeps,
  room: Room,
  members: ReadonlySet<string>,
  messages: readonly Message[],
): void {
  const { hub } = deps;
  const uids = [...members];
  const changed = uids.map((uid) => `${uid}/rooms-changed`);
  hub.emitEach("stream-notify-user", changed, ["updated", roomView(room)]);
  for (const message of messages) {
    const mentioned = new Set((message.mentions ?? []).map((m) => m._id));
    if (room.t !== "d" && mentioned.size === 0) continue;
    for (const uid of uids) {
      if (uid === message.u._id) continue;
      if (room.t !== "d" && !mentioned.has(uid) && !mentioned.has("all")) continue;
      hub.emit("stream-notify-user", `${uid}/notification`, [
        {
          title: room.t === "d" ? `@${message.u.username}` : `#${room.name}`,
          text: message.msg,
          payload: {
            _id: message._id,
            rid: room._id,
            sender: message.u,
            type: room.t,
            name: room.name,
            message: { msg: message.msg },
          },
        },
      ]);
    }
  }
}

export async function sendMessage(
  deps: CommandDeps,
  state: RoomState,
  user: User,
  draft: MessageDraft,
) {
  const message = await draftMessage(deps, state, user, draft);
  // A reply shown only in its thread leaves the room's last message and counters alone.
  const inRoom = message.tmid === undefined || message.tshow === true;
  const next = await persistMessage(deps, state, message, inRoom);
  return { state: await onReply(deps, next, message), reply: message };
}

/**
 * The message `user` sends from `draft` to the room of `state`, checked (may post, size,
 * content, thread, mentions) and stamped after the room's last message, not yet stored.
 * Throws the ClientError of the first check that fails.
 */
export async function draftMessage(
  deps: CommandDeps,
  state: RoomState,
  user: User,
  draft: MessageDraft,
): Promise<Message> {
  const { room } = state;
  await assertMayPost(deps, state, user, "sendMessage");
  const text = draft.msg ?? "";
  assertMessageSize(deps.settings, text, "sendMessage");
  await validateMessage(deps, draft, user, room._id);
  const tmid = await threadOf(deps, room, draft.tmid);
  const { mentions, channels } = await referencesIn(deps, text);
  await assertGroupMentionsAllowed(deps, user, room._id, mentions);
  await noticeMentionsOutsideRoom(deps, state, user, mentions);
  const md = await markdown.parse(text, deps.log);

  const ts = nextMessageTime(deps, room);
  const message: Message = {
    _id: draft._id ?? deps.ids.id(),
    rid: room._id,
    msg: text,
    ts,
    u: ref(user),
    _updatedAt: ts,
    urls: urlsIn(text),
    mentions,
    channels,
    ...(md && { md }),
    ...(draft.alias !== undefined && { alias: draft.alias }),
    ...(draft.emoji !== undefined && { emoji: draft.emoji }),
    ...(draft.avatar !== undefined && { avatar: draft.avatar }),
    ...(draft.attachments !== undefined && { attachments: [...draft.attachments] }),
    ...(draft.file !== undefined && { file: draft.file }),
    ...(draft.files !== undefined && { files: [...draft.files] }),
    ...(tmid !== undefined && { tmid }),
    ...(tmid !== undefined && draft.tshow === true && { tshow: true }),
    ...(draft.customFields !== undefined && { customFields: draft.customFields }),
  };
  return message;
}

/**
 * The thread a reply to `tmid` joins in `room`: the parent's own thread when the parent is
 * itself a reply, else the parent. An empty `tmid` means no thread. Throws Rocket.Chat's
 * `error-invalid-message` when the parent is not a message of this room, so that a
 * message of another room, readable or not, answers like one that does not exist.
 */
async function threadOf(deps: CommandDeps, room: Room, tmid: string | undefined) {
  if (tmid === undefined || tmid === "") return undefined;
  if (deps.settings.get<boolean>("Threads_enabled") === false) {
    throw new ClientError("error-not-allowed", "not-allowed", {
      details: { method: "sendMessage" },
    });
  }
  const parent = await referableMessage(deps.db, tmid, room._id, {
    projection: { _id: 1, tmid: 1 },
  });
  if (!parent) {
    throw new ClientError("error-invalid-message", "Invalid Message", {
      details: { method: "sendMessage", tmid },
    });
  }
  return parent.tmid ?? parent._id;
}

async function ownMessage(deps: CommandDeps, state: RoomState, msgId: string): Promise<Message> {
  const message = await referableMessage(deps.db, msgId);
  if (!message || message.rid !== state.room._id) {
    throw new ClientError("error-invalid-message", "Invalid message", { details: { msgId } });
  }
  return message;
}

/**
 * Throws Rocket.Chat's `error-message-editing-blocked` when `message` is older than the
 * setting Message_AllowEditing_BlockEditInMinutes (0: no limit) and `user` lacks
 * `bypass-time-limit-edit-and-delete`.
 */
async function assertEditableYet(deps: CommandDeps, user: User, message: Message) {
  const block = deps.settings.get<number>("Message_AllowEditing_BlockEditInMinutes") ?? 0;
  if (typeof block !== "number" || block === 0) return;
  if (await deps.authz.can(user, "bypass-time-limit-edit-and-delete")) return;
  if (Math.floor(ageOf(deps, message.ts) / 60_000) >= block) {
    throw new ClientError("error-message-editing-blocked", "Message editing is blocked", {
      details: { method: "updateMessage" },
    });
  }
}

/**
 * Stores `message` as it is now as a hidden copy (`_hidden: true`, `parent` its id),
 * stamped with who changed it and when, as Rocket.Chat keeps edit history when the setting
 * Message_KeepHistory is on. No read shows hidden copies.
 */
export async function keepAsHistory(
  deps: CommandDeps,
  message: Message,
  by: User,
  at: Date,
): Promise<void> {
  const { _id, ...rest } = message;
  await deps.db.messages.insertOne({
    ...rest,
    _id: deps.ids.id(),
    _hidden: true,
    parent: _id,
    editedAt: at,
    editedBy: { _id: by._id, username: by.username },
  });
}

export async function updateMessage(
  deps: CommandDeps,
  state: RoomState,
  user: User,
  msgId: string,
  text: string,
) {
  const original = await ownMessage(deps, state, msgId);
  const mayEditAny = await deps.authz.can(user, "edit-message", state.room._id);
  const mayEditOwn =
    original.u._id === user._id && deps.settings.get<boolean>("Message_AllowEditing") !== false;
  if (original.t || !(mayEditAny || mayEditOwn)) {
    throw new ClientError("error-action-not-allowed", "Message editing not allowed", {
      details: { method: "updateMessage", action: "Message_editing" },
    });
  }
  await assertEditableYet(deps, user, original);
  // Editing is sending again: whoever may no longer post here may not edit either.
  await assertMayPost(deps, state, user, "updateMessage");
  // Unchanged text is not an edit: Rocket.Chat answers with the message as it is.
  if (original.msg === text) return { state, reply: original };
  assertMessageSize(deps.settings, text, "updateMessage");

  const now = deps.clock.now();
  if (deps.settings.get<boolean>("Message_KeepHistory") === true) {
    await keepAsHistory(deps, original, user, now);
  }
  const { mentions, channels } = await referencesIn(deps, text);
  const md = await markdown.parse(text, deps.log);
  const message = await deps.db.messages.findOneAndUpdate(
    { _id: msgId },
    {
      $set: {
        msg: text,
        editedAt: now,
        editedBy: { _id: user._id, username: user.username },
        _updatedAt: now,
        urls: urlsIn(text),
        mentions,
        channels,
        ...(md && { md }),
      },
      ...(!md && { $unset: { md: "" } }),
    },
  );
  if (!message) throw new ClientError("error-invalid-message", "Invalid message");
  const next = await refreshLastMessage(deps, state, message);
  deps.hub.emit("stream-room-messages", next.room._id, [message]);
  return { state: next, reply: message };
}

/**
 * Keeps the room's `lastMessage` in step with `message` when it is that message, and
 * answers the room's new state.
 */
export async function refreshLastMessage(
  deps: CommandDeps,
  state: RoomState,
  message: Message,
): Promise<RoomState> {
  if (state.room.lastMessage?._id !== message._id) return state;
  const room = await deps.db.rooms.findOneAndUpdate(
    { _id: state.room._id },
    { $set: { lastMessage: message } },
  );
  return room ? { ...state, room } : state;
}

/**
 * Whether `user` may delete `message`, by Rocket.Chat's rules: `force-delete-message`
 * always may; otherwise only while Message_AllowDeleting is on, with `delete-message`, or
 * `delete-own-message` for their own message, within Message_AllowDeleting_BlockDeleteInMinutes
 * (0: no limit) unless they hold `bypass-time-limit-edit-and-delete`. In a read-only room,
 * someone without `post-readonly` gets Rocket.Chat's read-only sentence instead.
 */
async function mayDelete(deps: CommandDeps, state: RoomState, user: User, message: Message) {
  const { room } = state;
  if (await deps.authz.can(user, "force-delete-message", room._id)) return true;
  if (deps.settings.get<boolean>("Message_AllowDeleting") === false) return false;
  const own = message.u._id === user._id;
  const allowed =
    (await deps.authz.can(user, "delete-message", room._id)) ||
    (own && (await deps.authz.can(user, "delete-own-message", room._id)));
  if (!allowed) return false;
  const block = deps.settings.get<number>("Message_AllowDeleting_BlockDeleteInMinutes") ?? 0;
  if (block && !(await deps.authz.can(user, "bypass-time-limit-edit-and-delete"))) {
    return Math.round(ageOf(deps, message.ts) / 60_000) <= block;
  }
  if (room.ro && !(await deps.authz.can(user, "post-readonly", room._id))) {
    throw new ClientError(
      "error-not-allowed",
      "You can't delete messages because the room is readonly.",
      { plain: true },
    );
  }
  return true;
}

export async function deleteMessage(
  deps: CommandDeps,
  state: RoomState,
  user: User,
  msgId: string,
) {
  const message = await ownMessage(deps, state, msgId);
  if (!(await mayDelete(deps, state, user, message))) {
    throw new ClientError("error-action-not-allowed", "Not allowed");
  }
  // As for editing, whoever may no longer read the room may not delete in it; only a
  // holder of force-delete-message deletes regardless, as Rocket.Chat lets them.
  if (
    !state.members.has(user._id) &&
    !(await deps.authz.can(user, "force-delete-message", state.room._id)) &&
    !(await deps.authz.canAccessRoom(state.room, user))
  ) {
    throw new ClientError("error-not-allowed", "Not allowed", {
      details: { method: "deleteMessage" },
    });
  }
  return removeMessage(deps, state, message);
}

/**
 * Deletes `message` of the room once the caller has been allowed to: records the deletion
 * for sync, keeps it hidden when Message_KeepHistory is on, moves the room's last message
 * back, and tells the room. Answers the room's new state and the deleted message.
 */
export async function removeMessage(deps: CommandDeps, state: RoomState, message: Message) {
  const msgId = message._id;
  await recordDeletion(deps, message);
  if (deps.settings.get<boolean>("Message_KeepHistory") === true) {
    // Rocket.Chat keeps a deleted message, hidden, when it keeps history.
    await deps.db.messages.updateOne(
      { _id: msgId },
      { $set: { _hidden: true, _updatedAt: deps.clock.now() } },
    );
  } else {
    await deps.db.messages.deleteOne({ _id: msgId });
  }
  // Rocket.Chat removes a deleted message's files in both cases.
  await removeUploads(deps, uploadIdsOf(message));
  const [latest] = await deps.db.messages.find(
    {
      rid: state.room._id,
      t: { $exists: false },
      _hidden: { $ne: true },
      $or: [{ tmid: { $exists: false } }, { tshow: true }],
    },
    { sort: { ts: -1 }, limit: 1 },
  );
  const room =
    (await deps.db.rooms.findOneAndUpdate(
      { _id: state.room._id },
      {
        $inc: { msgs: -1 },
        ...(latest
          ? { $set: { lastMessage: latest, _updatedAt: deps.clock.now() } }
          : { $unset: { lastMessage: "" } }),
      },
    )) ?? state.room;
  deps.hub.emit("stream-notify-room", `${room._id}/deleteMessage`, [{ _id: msgId }]);
  return { state: await onReplyDeleted(deps, { ...state, room }, message), reply: message };
}

/**
 * The time of a room's next message: now, but always after the room's previous message,
 * so that the single writer gives every message of a room a distinct, increasing `ts`
 * and "after my last read" comparisons never miss a message sent in the same millisecond.
 */
export function nextMessageTime(deps: CommandDeps, room: Room): Date {
  const now = deps.clock.now();
  return room.lm && room.lm.getTime() >= now.getTime() ? new Date(room.lm.getTime() + 1) : now;
}

export function systemMessage(
  deps: CommandDeps,
  room: Room,
  t: string,
  actor: User,
  text: string,
): Message {
  const ts = nextMessageTime(deps, room);
  return {
    _id: deps.ids.id(),
    rid: room._id,
    t,
    msg: text,
    ts,
    u: ref(actor),
    _updatedAt: ts,
    groupable: false,
  };
}

/** The message commands of a room actor; each answers with the message. */
export type MessageCommand =
  | { readonly kind: "send"; readonly user: User; readonly draft: MessageDraft }
  | { readonly kind: "update"; readonly user: User; readonly msgId: string; readonly text: string }
  | { readonly kind: "delete"; readonly user: User; readonly msgId: string };

export const messageHandlers: CommandHandlers<MessageCommand> = {
  send: (deps, state, c) => sendMessage(deps, state, c.user, c.draft),
  update: (deps, state, c) => updateMessage(deps, state, c.user, c.msgId, c.text),
  delete: (deps, state, c) => deleteMessage(deps, state, c.user, c.msgId),
};
