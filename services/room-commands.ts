/**
 * The commands a room actor executes, one at a time, for its room: sending, editing and
 * deleting messages, and membership changes. Each validates against the room's current
 * state, persists, then fans the change out through the hub. The actor keeps the
 * returned state between commands so that membership checks need no query.
 */
import { ClientError } from "../core/errors.ts";
import type { Message, Room, Subscription, User, UserRef } from "../core/models.ts";
import { DuplicateKeyError } from "../store/types.ts";
import type { Authz } from "./authz.ts";
import type { Deps } from "./context.ts";
import { assertMessageSize, validateMessage } from "./message-validation.ts";
import { newSubscription } from "./rooms.ts";
import type { Settings } from "./settings.ts";

/** What a client may set on a new message. */
export interface MessageDraft {
  readonly _id?: string;
  readonly msg?: string;
  readonly alias?: string;
  readonly emoji?: string;
  readonly avatar?: string;
  readonly attachments?: readonly Record<string, unknown>[];
  readonly tmid?: string;
  readonly customFields?: Record<string, unknown>;
}

export type RoomCommand =
  | { readonly kind: "send"; readonly user: User; readonly draft: MessageDraft }
  | { readonly kind: "update"; readonly user: User; readonly msgId: string; readonly text: string }
  | { readonly kind: "delete"; readonly user: User; readonly msgId: string }
  | {
      readonly kind: "join";
      readonly user: User;
      readonly joinCode?: string;
      readonly silent?: boolean;
      /**
       * A new account joining a default room: Rocket.Chat subscribes new users to default
       * rooms unconditionally, so neither the permission nor a join code is checked.
       */
      readonly asDefault?: boolean;
    }
  | { readonly kind: "leave"; readonly user: User }
  | { readonly kind: "add"; readonly by: User; readonly users: readonly User[] }
  | { readonly kind: "remove"; readonly by: User; readonly user: User };

/** Message commands answer with the message; membership commands with the room. */
export type RoomReply<C extends RoomCommand> = C extends { kind: "send" | "update" | "delete" }
  ? Message
  : Room;

/** What a room actor remembers between commands. */
export interface RoomState {
  readonly room: Room;
  /** Ids of the members (users with a subscription). */
  readonly members: ReadonlySet<string>;
}

/** The services a command needs. */
export interface CommandDeps extends Deps {
  readonly authz: Authz;
  readonly settings: Settings;
}

/** Reads a room's state from the store; null when the room does not exist. */
export async function loadRoomState(
  deps: Pick<Deps, "db">,
  rid: string,
): Promise<RoomState | null> {
  const room = await deps.db.rooms.findOne({ _id: rid });
  if (!room) return null;
  const subs = await deps.db.subscriptions.find({ rid }, { projection: { "u._id": 1 } });
  return { room, members: new Set(subs.map((s) => s.u._id)) };
}

/** Runs one command against `state`; resolves to the new state and the reply. */
export async function executeRoomCommand(
  deps: CommandDeps,
  state: RoomState,
  command: RoomCommand,
): Promise<{ state: RoomState; reply: Message | Room }> {
  switch (command.kind) {
    case "send":
      return send(deps, state, command.user, command.draft);
    case "update":
      return update(deps, state, command.user, command.msgId, command.text);
    case "delete":
      return remove(deps, state, command.user, command.msgId);
    case "join":
      return join(
        deps,
        state,
        command.user,
        command.joinCode,
        command.silent ?? false,
        command.asDefault ?? false,
      );
    case "leave":
      return leave(deps, state, command.user);
    case "add":
      return add(deps, state, command.by, command.users);
    case "remove":
      return kick(deps, state, command.by, command.user);
  }
}

function ref(user: User): UserRef {
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

async function persistMessage(
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
    const mentioned = (message.mentions ?? []).map((m) => m._id);
    const everyone = mentioned.includes("all") || mentioned.includes("here");
    await db.subscriptions.updateMany(
      { rid: room._id, "u._id": { $ne: message.u._id } },
      { $inc: { unread: 1 }, $set: { alert: true, open: true, _updatedAt: message.ts } },
    );
    if (mentioned.length > 0) {
      await db.subscriptions.updateMany(
        everyone
          ? { rid: room._id, "u._id": { $ne: message.u._id } }
          : { rid: room._id, "u._id": { $in: mentioned, $ne: message.u._id } },
        { $inc: everyone ? { groupMentions: 1 } : { userMentions: 1 } },
      );
    }
    await notifyMembers(deps, room, message);
  }
  return { ...state, room };
}

/** Tells each member that the room and their subscription changed, and notifies DMs and mentions. */
async function notifyMembers(deps: CommandDeps, room: Room, message: Message): Promise<void> {
  const { db, hub } = deps;
  const subs = await db.subscriptions.find({ rid: room._id });
  const mentioned = new Set((message.mentions ?? []).map((m) => m._id));
  for (const sub of subs) {
    const uid = sub.u._id;
    hub.emit("stream-notify-user", `${uid}/rooms-changed`, ["updated", room]);
    hub.emit("stream-notify-user", `${uid}/subscriptions-changed`, ["updated", sub]);
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

async function send(deps: CommandDeps, state: RoomState, user: User, draft: MessageDraft) {
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
    ...(draft.tmid !== undefined && { tmid: draft.tmid }),
    ...(draft.customFields !== undefined && { customFields: draft.customFields }),
  };
  const next = await persistMessage(deps, state, message, true);
  return { state: next, reply: message };
}

async function ownMessage(deps: CommandDeps, state: RoomState, msgId: string): Promise<Message> {
  const message = await deps.db.messages.findOne({ _id: msgId });
  if (!message || message.rid !== state.room._id) {
    throw new ClientError("error-invalid-message", "Invalid message", { details: { msgId } });
  }
  return message;
}

async function update(
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

async function remove(deps: CommandDeps, state: RoomState, user: User, msgId: string) {
  const message = await ownMessage(deps, state, msgId);
  const mayDeleteAny = await deps.authz.can(user, "delete-message", state.room._id);
  const mayDeleteOwn =
    message.u._id === user._id && deps.settings.get<boolean>("Message_AllowDeleting") !== false;
  if (!(mayDeleteAny || mayDeleteOwn))
    throw new ClientError("error-action-not-allowed", "Not allowed");
  await deps.db.messages.deleteOne({ _id: msgId });
  const [latest] = await deps.db.messages.find(
    { rid: state.room._id, t: { $exists: false } },
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
  return { state: { ...state, room }, reply: message };
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

function systemMessage(
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

async function subscribe(deps: CommandDeps, state: RoomState, user: User): Promise<RoomState> {
  const sub: Subscription = newSubscription(deps, state.room, user);
  await deps.db.subscriptions.insertOne(sub);
  const room =
    (await deps.db.rooms.findOneAndUpdate({ _id: state.room._id }, { $inc: { usersCount: 1 } })) ??
    state.room;
  deps.hub.emit("stream-notify-user", `${user._id}/rooms-changed`, ["inserted", room]);
  deps.hub.emit("stream-notify-user", `${user._id}/subscriptions-changed`, ["inserted", sub]);
  return { room, members: new Set([...state.members, user._id]) };
}

async function unsubscribe(deps: CommandDeps, state: RoomState, user: User): Promise<RoomState> {
  const sub = await deps.db.subscriptions.findOne(
    { rid: state.room._id, "u._id": user._id },
    { projection: { _id: 1 } },
  );
  await deps.db.subscriptions.deleteOne({ rid: state.room._id, "u._id": user._id });
  const room =
    (await deps.db.rooms.findOneAndUpdate({ _id: state.room._id }, { $inc: { usersCount: -1 } })) ??
    state.room;
  deps.hub.emit("stream-notify-user", `${user._id}/rooms-changed`, ["removed", { _id: room._id }]);
  deps.hub.emit("stream-notify-user", `${user._id}/subscriptions-changed`, [
    "removed",
    { _id: sub?._id, u: { _id: user._id }, rid: room._id, t: room.t },
  ]);
  deps.hub.signal(user._id, { type: "room-access-revoked", rid: room._id });
  const members = new Set(state.members);
  members.delete(user._id);
  return { room, members };
}

async function assertNotLastOwner(deps: CommandDeps, state: RoomState, user: User): Promise<void> {
  const owners = await deps.db.subscriptions.find(
    { rid: state.room._id, roles: "owner" },
    { projection: { "u._id": 1 } },
  );
  const isOwner = owners.some((o) => o.u._id === user._id);
  if (isOwner && owners.length === 1 && state.members.size > 1) {
    throw new ClientError(
      "error-you-are-last-owner",
      "You are the last owner. Please set new owner before leaving the room.",
    );
  }
}

async function join(
  deps: CommandDeps,
  state: RoomState,
  user: User,
  joinCode: string | undefined,
  silent: boolean,
  asDefault: boolean,
) {
  const { room } = state;
  if (state.members.has(user._id)) return { state, reply: room };
  if (!asDefault && (room.t !== "c" || !(await deps.authz.can(user, "view-c-room")))) {
    throw new ClientError("error-not-allowed", "Not allowed", { details: { method: "joinRoom" } });
  }
  if (
    !asDefault &&
    typeof room.joinCode === "string" &&
    room.joinCode !== "" &&
    room.joinCode !== joinCode
  ) {
    throw new ClientError("error-code-invalid", "Invalid Room Password", {
      details: { method: "joinRoom" },
    });
  }
  let next = await subscribe(deps, state, user);
  if (!silent)
    next = await persistMessage(
      deps,
      next,
      systemMessage(deps, next.room, "uj", user, user.username),
      false,
    );
  return { state: next, reply: next.room };
}

async function leave(deps: CommandDeps, state: RoomState, user: User) {
  if (!state.members.has(user._id)) {
    throw new ClientError("error-user-not-in-room", "You are not in this room", {
      details: { method: "leaveRoom" },
    });
  }
  if (state.room.t === "d")
    throw new ClientError("error-not-allowed", "Not allowed", { details: { method: "leaveRoom" } });
  await deps.authz.require(user, state.room.t === "c" ? "leave-c" : "leave-p");
  await assertNotLastOwner(deps, state, user);
  let next = await unsubscribe(deps, state, user);
  next = await persistMessage(
    deps,
    next,
    systemMessage(deps, next.room, "ul", user, user.username),
    false,
  );
  return { state: next, reply: next.room };
}

async function add(deps: CommandDeps, state: RoomState, by: User, users: readonly User[]) {
  const { room } = state;
  const anyRoom = room.t === "c" ? "add-user-to-any-c-room" : "add-user-to-any-p-room";
  const allowed =
    (await deps.authz.can(by, anyRoom)) ||
    (state.members.has(by._id) && (await deps.authz.can(by, "add-user-to-joined-room", room._id)));
  if (!allowed || room.t === "d") {
    throw new ClientError("error-not-allowed", "Not allowed", {
      details: { method: "addUsersToRoom" },
    });
  }
  let next = state;
  for (const user of users) {
    if (next.members.has(user._id)) continue;
    next = await subscribe(deps, next, user);
    next = await persistMessage(
      deps,
      next,
      systemMessage(deps, next.room, "au", by, user.username),
      false,
    );
  }
  return { state: next, reply: next.room };
}

async function kick(deps: CommandDeps, state: RoomState, by: User, user: User) {
  if (!(await deps.authz.can(by, "remove-user", state.room._id)) || state.room.t === "d") {
    throw new ClientError("error-not-allowed", "Not allowed", {
      details: { method: "removeUserFromRoom" },
    });
  }
  if (!state.members.has(user._id)) {
    throw new ClientError("error-user-not-in-room", "User is not in this room", {
      details: { method: "removeUserFromRoom" },
    });
  }
  await assertNotLastOwner(deps, state, user);
  let next = await unsubscribe(deps, state, user);
  next = await persistMessage(
    deps,
    next,
    systemMessage(deps, next.room, "ru", by, user.username),
    false,
  );
  return { state: next, reply: next.room };
}
