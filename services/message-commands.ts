/**
 * Message commands of the room actor: sending, editing and deleting, with mentions,
 * unread counters and the fan-out of each change. Also the system messages that
 * membership changes post.
 */
import { ClientError } from "../core/errors.ts";
import type { Message, Room, User, UserRef } from "../core/models.ts";
import { DuplicateKeyError } from "../store/types.ts";
import { recordDeletion } from "./message-sync.ts";
import { assertMessageSize, validateMessage } from "./message-validation.ts";
import type { CommandDeps, CommandHandlers, MessageDraft, RoomState } from "./room-commands.ts";
import { onReply, onReplyDeleted } from "./thread-commands.ts";
import { recordUnread } from "./unread.ts";
export function ref(user: User): UserRef {
  return {
    _id: user._id,
    username: user.username,
    ...(user.name !== undefined && { name: user.name }),
  };
}

/** Users mentioned as `@username` who are members, plus `@all`/`@here`. */
async function mentionsIn(deps: CommandDeps, state: RoomState, text: string): Promise<UserRef[]> {
  const names = new Set(
    [...text.matchAll(/(?:^|[\s(])@([0-9a-zA-Z-_.]+)/g)].map((m) => m[1] as string),
  );
  const mentions: UserRef[] = [];
  for (const name of names) {
    if (name === "all" || name === "here") {
      mentions.push({ _id: name, username: name });
      continue;
    }
    const user = await deps.db.users.findOne(
      { username: name },
      { projection: { username: 1, name: 1 } },
    );
    if (user && (state.members.has(user._id) || state.room.t === "c")) mentions.push(ref(user));
  }
  return mentions;
}

export async function persistMessage(
  deps: CommandDeps,
  state: RoomState,
  message: Message,
  countsUnread: boolean,
): Promise<RoomState> {
  const { db, hub } = deps;
  try {
    await db.messages.insertOne(message);
  } catch (error) {
    if (error instanceof DuplicateKeyError) {
      throw new ClientError("error-duplicated-message", "The message is a duplicate", {
        cause: error,
      });
    }
    throw error;
  }
  const room = await db.rooms.findOneAndUpdate(
    { _id: state.room._id },
    {
      $inc: { msgs: 1 },
      $set: {
        lm: message.ts,
        _updatedAt: message.ts,
        ...(countsUnread && { lastMessage: message }),
      },
    },
  );
  if (!room) throw new ClientError("error-room-not-found", "Room not found");
  hub.emit("stream-room-messages", room._id, [message]);

  if (countsUnread) {
    await recordUnread(deps, room, message);
    await notifyMembers(deps, room, message);
  }
  return { ...state, room };
}

/** Tells each member that the room changed, and notifies DMs and mentions. */
async function notifyMembers(deps: CommandDeps, room: Room, message: Message): Promise<void> {
  const { db, hub } = deps;
  const subs = await db.subscriptions.find({ rid: room._id });
  const mentioned = new Set((message.mentions ?? []).map((m) => m._id));
  for (const sub of subs) {
    const uid = sub.u._id;
    hub.emit("stream-notify-user", `${uid}/rooms-changed`, ["updated", room]);
    if (uid !== message.u._id && (room.t === "d" || mentioned.has(uid) || mentioned.has("all"))) {
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
  const { room } = state;
  if (!state.members.has(user._id) && !(await deps.authz.canAccessRoom(room, user))) {
    throw new ClientError("error-not-allowed", "Not allowed", {
      details: { method: "sendMessage" },
    });
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
  const text = draft.msg ?? "";
  assertMessageSize(deps.settings, text, "sendMessage");
  await validateMessage(deps, draft, user, room._id);
  const tmid = await threadOf(deps, room, draft.tmid);

  const ts = nextMessageTime(deps, room);
  const message: Message = {
    _id: draft._id ?? deps.ids.id(),
    rid: room._id,
    msg: text,
    ts,
    u: ref(user),
    _updatedAt: ts,
    urls: [...text.matchAll(/https?:\/\/[^\s<>]+/g)].map((m) => ({ url: m[0] })),
    mentions: await mentionsIn(deps, state, text),
    channels: [],
    ...(draft.alias !== undefined && { alias: draft.alias }),
    ...(draft.emoji !== undefined && { emoji: draft.emoji }),
    ...(draft.avatar !== undefined && { avatar: draft.avatar }),
    ...(draft.attachments !== undefined && { attachments: [...draft.attachments] }),
    ...(tmid !== undefined && { tmid }),
    ...(tmid !== undefined && draft.tshow === true && { tshow: true }),
    ...(draft.customFields !== undefined && { customFields: draft.customFields }),
  };
  // A reply shown only in its thread leaves the room's last message and counters alone.
  const inRoom = tmid === undefined || message.tshow === true;
  const next = await persistMessage(deps, state, message, inRoom);
  return { state: await onReply(deps, next, message), reply: message };
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
  const parent = await deps.db.messages.findOne(
    { _id: tmid, rid: room._id },
    { projection: { _id: 1, tmid: 1 } },
  );
  if (!parent) {
    throw new ClientError("error-invalid-message", "Invalid Message", {
      details: { method: "sendMessage", tmid },
    });
  }
  return parent.tmid ?? parent._id;
}

async function ownMessage(deps: CommandDeps, state: RoomState, msgId: string): Promise<Message> {
  const message = await deps.db.messages.findOne({ _id: msgId });
  if (!message || message.rid !== state.room._id) {
    throw new ClientError("error-invalid-message", "Invalid message", { details: { msgId } });
  }
  return message;
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
  // Editing is sending again: whoever may no longer post here may not edit either.
  if (!state.members.has(user._id) && !(await deps.authz.canAccessRoom(state.room, user))) {
    throw new ClientError("error-not-allowed", "Not allowed", {
      details: { method: "updateMessage" },
    });
  }
  // Unchanged text is not an edit: Rocket.Chat answers with the message as it is.
  if (original.msg === text) return { state, reply: original };
  assertMessageSize(deps.settings, text, "updateMessage");
  const now = deps.clock.now();
  const message = await deps.db.messages.findOneAndUpdate(
    { _id: msgId },
    {
      $set: {
        msg: text,
        editedAt: now,
        editedBy: { _id: user._id, username: user.username },
        _updatedAt: now,
        mentions: await mentionsIn(deps, state, text),
      },
    },
  );
  if (!message) throw new ClientError("error-invalid-message", "Invalid message");
  let room = state.room;
  if (room.lastMessage?._id === msgId) {
    room =
      (await deps.db.rooms.findOneAndUpdate(
        { _id: room._id },
        { $set: { lastMessage: message } },
      )) ?? room;
  }
  deps.hub.emit("stream-room-messages", room._id, [message]);
  return { state: { ...state, room }, reply: message };
}

export async function deleteMessage(
  deps: CommandDeps,
  state: RoomState,
  user: User,
  msgId: string,
) {
  const message = await ownMessage(deps, state, msgId);
  const mayDeleteAny = await deps.authz.can(user, "delete-message", state.room._id);
  const mayDeleteOwn =
    message.u._id === user._id && deps.settings.get<boolean>("Message_AllowDeleting") !== false;
  if (!(mayDeleteAny || mayDeleteOwn))
    throw new ClientError("error-action-not-allowed", "Not allowed");
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
  await recordDeletion(deps, message);
  await deps.db.messages.deleteOne({ _id: msgId });
  const [latest] = await deps.db.messages.find(
    {
      rid: state.room._id,
      t: { $exists: false },
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
function nextMessageTime(deps: CommandDeps, room: Room): Date {
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
