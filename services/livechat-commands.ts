/**
 * Omnichannel commands of the room actor, for rooms of type `l`: the visitor's messages
 * (sending, editing, deleting their own), an agent starting to serve the room, the room
 * leaving its agent (returned to the queue or forwarded), passing to another agent, closing,
 * and saving fields such as the visitor's survey. Like every room write they run one at a
 * time in the room's actor, so a visitor writing while an agent closes sees one order.
 */
import { ClientError } from "../core/errors.ts";
import type { LivechatVisitor, OmnichannelRoom, ServedBy } from "../core/livechat-models.ts";
import type { Message, Room, User, UserRef } from "../core/models.ts";
import { markdown } from "./markdown.ts";
import { unsubscribe } from "./membership-commands.ts";
import {
  nextMessageTime,
  persistMessage,
  refreshLastMessage,
  removeMessage,
  urlsIn,
} from "./message-commands.ts";
import { assertMessageSize } from "./message-validation.ts";
import { announceRoom, updateRoom, updateSubscriptions } from "./room-changes.ts";
import type { CommandDeps, CommandHandlers, RoomState } from "./room-commands.ts";
import { newSubscription, roomView } from "./rooms.ts";

/** Who a transfer or a close is recorded as done by. */
export type Actor = UserRef;

/** The Omnichannel commands of a room actor. */
export type LivechatCommand =
  | {
      readonly kind: "livechat.visitorSend";
      readonly visitor: LivechatVisitor;
      readonly draft: { readonly _id?: string; readonly msg: string };
    }
  | {
      readonly kind: "livechat.visitorUpdate";
      readonly visitor: LivechatVisitor;
      readonly msgId: string;
      readonly text: string;
    }
  | {
      readonly kind: "livechat.visitorDelete";
      readonly visitor: LivechatVisitor;
      readonly msgId: string;
    }
  | { readonly kind: "livechat.serve"; readonly agent: User }
  | {
      readonly kind: "livechat.unserve";
      readonly by: Actor;
      /** Where the room goes: back to its queue, or to another department's queue. */
      readonly scope: "queue" | "department";
      readonly departmentId?: string;
      readonly comment?: string;
    }
  | {
      readonly kind: "livechat.transfer";
      readonly to: User;
      readonly by: Actor;
      readonly comment?: string;
    }
  | {
      readonly kind: "livechat.close";
      readonly closer: "user" | "visitor";
      readonly by: Actor;
      readonly comment?: string;
      readonly tags?: readonly string[];
    }
  | { readonly kind: "livechat.save"; readonly set: Readonly<Record<string, unknown>> }
  | {
      readonly kind: "livechat.saveInfo";
      readonly set: Readonly<Record<string, unknown>>;
      readonly unset: readonly string[];
      /** The visitor's new name, shown as the room's and its subscriptions' name. */
      readonly name?: string;
    };

/**
 * What an Omnichannel command answers: the room afterwards, the message it wrote (if
 * any), and the agent who served the room before (if the command took it from them).
 */
export interface LivechatResult {
  readonly room: OmnichannelRoom;
  readonly message?: Message;
  readonly previousAgent?: ServedBy;
}

/** The room of `state` as an omnichannel room; `error-invalid-room` for any other room. */
export function omnichannelRoom(room: Room): OmnichannelRoom {
  if (room.t !== "l") throw new ClientError("error-invalid-room", "Invalid room");
  return room as OmnichannelRoom;
}

/** Rocket.Chat's refusal of a change to a closed conversation. */
export function roomClosed(): ClientError {
  return new ClientError("room-closed", "Room closed");
}

function openRoom(state: RoomState): OmnichannelRoom {
  const room = omnichannelRoom(state.room);
  if (!room.open) throw roomClosed();
  return room;
}

/** The visitor as the author of a message. */
function visitorRef(visitor: LivechatVisitor): UserRef {
  return {
    _id: visitor._id,
    username: visitor.username,
    ...(visitor.name !== undefined && { name: visitor.name }),
  };
}

function assertVisitorRoom(room: OmnichannelRoom, visitor: LivechatVisitor): void {
  if (room.v.token !== visitor.token) throw new ClientError("invalid-room", "Invalid room");
}

/** A message of `room` written by `visitor`; `invalid-message` otherwise. */
async function visitorMessage(
  deps: CommandDeps,
  room: OmnichannelRoom,
  visitor: LivechatVisitor,
  msgId: string,
): Promise<Message> {
  const message = await deps.db.messages.findOne({ _id: msgId, rid: room._id });
  if (!message || message.u._id !== visitor._id || message.t) {
    throw new ClientError("invalid-message", "Invalid message");
  }
  return message;
}

async function visitorSend(
  deps: CommandDeps,
  state: RoomState,
  c: Extract<LivechatCommand, { kind: "livechat.visitorSend" }>,
) {
  const room = openRoom(state);
  assertVisitorRoom(room, c.visitor);
  assertMessageSize(deps.settings, c.draft.msg, "sendMessageLivechat");
  const md = await markdown.parse(c.draft.msg, deps.log);
  const ts = nextMessageTime(deps, room);
  const message: Message = {
    _id: c.draft._id ?? deps.ids.id(),
    rid: room._id,
    msg: c.draft.msg,
    ts,
    u: visitorRef(c.visitor),
    _updatedAt: ts,
    urls: urlsIn(c.draft.msg),
    mentions: [],
    channels: [],
    token: c.visitor.token,
    ...(md && { md }),
  };
  const next = await persistMessage(deps, state, message, true);
  return { state: next, reply: { room: next.room as OmnichannelRoom, message } };
}

async function visitorUpdate(
  deps: CommandDeps,
  state: RoomState,
  c: Extract<LivechatCommand, { kind: "livechat.visitorUpdate" }>,
) {
  const room = openRoom(state);
  assertVisitorRoom(room, c.visitor);
  const original = await visitorMessage(deps, room, c.visitor, c.msgId);
  assertMessageSize(deps.settings, c.text, "updateMessage");
  const now = deps.clock.now();
  const md = await markdown.parse(c.text, deps.log);
  const message = (await deps.db.messages.findOneAndUpdate(
    { _id: original._id },
    {
      $set: {
        msg: c.text,
        editedAt: now,
        editedBy: { _id: c.visitor._id, username: c.visitor.username },
        _updatedAt: now,
        urls: urlsIn(c.text),
        ...(md && { md }),
      },
      ...(!md && { $unset: { md: "" } }),
    },
  )) as Message;
  const next = await refreshLastMessage(deps, state, message);
  deps.hub.emit("stream-room-messages", room._id, [message]);
  return { state: next, reply: { room: next.room as OmnichannelRoom, message } };
}

async function visitorDelete(
  deps: CommandDeps,
  state: RoomState,
  c: Extract<LivechatCommand, { kind: "livechat.visitorDelete" }>,
) {
  const room = openRoom(state);
  assertVisitorRoom(room, c.visitor);
  const original = await visitorMessage(deps, room, c.visitor, c.msgId);
  const { state: next, reply } = await removeMessage(deps, state, original);
  return { state: next, reply: { room: next.room as OmnichannelRoom, message: reply } };
}

/** What the visitor is told about the agent serving them (`agentData` on stream-livechat-room). */
export function agentData(deps: CommandDeps, agent: User): Record<string, unknown> {
  const showEmail = deps.settings.get<boolean>("Livechat_show_agent_email") !== false;
  return {
    _id: agent._id,
    username: agent.username,
    ...(agent.name !== undefined && { name: agent.name }),
    status: agent.status,
    ...(showEmail && agent.emails && { emails: agent.emails }),
  };
}

/** Subscribes `agent` to the room they now serve and tells them and the visitor. */
async function assign(deps: CommandDeps, state: RoomState, agent: User): Promise<RoomState> {
  const now = deps.clock.now();
  const servedBy: ServedBy = { _id: agent._id, username: agent.username, ts: now };
  const room = (await deps.db.rooms.findOneAndUpdate(
    { _id: state.room._id },
    { $set: { servedBy, _updatedAt: now }, $inc: { usersCount: 1 } },
  )) as OmnichannelRoom;
  const shown = room.fname ?? room.v.username;
  await deps.db.subscriptions.deleteOne({ rid: room._id, "u._id": agent._id });
  const sub = newSubscription(deps, room, agent, {
    name: shown,
    fname: shown,
    alert: true,
    unread: room.msgs,
    v: room.v,
  });
  await deps.db.subscriptions.insertOne(sub);
  deps.hub.emit("stream-notify-user", `${agent._id}/rooms-changed`, ["inserted", roomView(room)]);
  deps.hub.emit("stream-notify-user", `${agent._id}/subscriptions-changed`, ["inserted", sub]);
  deps.hub.emit("stream-livechat-room", room._id, [
    { type: "agentData", data: agentData(deps, agent) },
  ]);
  return { room, members: new Set([...state.members, agent._id]) };
}

/**
 * The result of a command that took the room from its agent (forward, transfer, close):
 * the room as it is now, the message that says so, and the agent it left, if any.
 */
function leftAgent(state: RoomState, message: Message, previousAgent: ServedBy | undefined) {
  const reply: LivechatResult = {
    room: state.room as OmnichannelRoom,
    message,
    ...(previousAgent && { previousAgent }),
  };
  return { state, reply };
}

/** Unsubscribes the agent serving the room, if any, and clears `servedBy`. */
async function release(
  deps: CommandDeps,
  state: RoomState,
  set: Record<string, unknown> = {},
): Promise<{ state: RoomState; previousAgent?: ServedBy }> {
  const room = omnichannelRoom(state.room);
  const previousAgent = room.servedBy;
  let next = state;
  if (previousAgent) {
    next = await unsubscribe(deps, state, previousAgent as unknown as User);
    // As Rocket.Chat: agentData without data tells the visitor's widget nobody serves them.
    deps.hub.emit("stream-livechat-room", room._id, [{ type: "agentData" }]);
  }
  const updated = (await deps.db.rooms.findOneAndUpdate(
    { _id: room._id },
    { $unset: { servedBy: "" }, $set: { _updatedAt: deps.clock.now(), ...set } },
  )) as OmnichannelRoom;
  return { state: { ...next, room: updated }, ...(previousAgent && { previousAgent }) };
}

/** Posts the record of a transfer, as Rocket.Chat's `livechat_transfer_history` message. */
async function transferMessage(
  deps: CommandDeps,
  state: RoomState,
  by: Actor,
  transferData: Record<string, unknown>,
): Promise<{ state: RoomState; message: Message }> {
  const ts = nextMessageTime(deps, state.room);
  const message: Message = {
    _id: deps.ids.id(),
    rid: state.room._id,
    t: "livechat_transfer_history",
    msg: "",
    ts,
    u: by,
    _updatedAt: ts,
    groupable: false,
    transferData: { transferredBy: by, ts, ...transferData },
  };
  return { state: await persistMessage(deps, state, message, false), message };
}

async function unserve(
  deps: CommandDeps,
  state: RoomState,
  c: Extract<LivechatCommand, { kind: "livechat.unserve" }>,
) {
  const room = openRoom(state);
  const set = c.departmentId !== undefined ? { departmentId: c.departmentId } : {};
  const released = await release(deps, state, set);
  const { state: next, message } = await transferMessage(deps, released.state, c.by, {
    scope: c.scope,
    ...(c.comment && { comment: c.comment }),
    ...(room.departmentId && { previousDepartment: room.departmentId }),
    ...(c.departmentId !== undefined && { nextDepartment: c.departmentId }),
  });
  return leftAgent(next, message, released.previousAgent);
}

async function transfer(
  deps: CommandDeps,
  state: RoomState,
  c: Extract<LivechatCommand, { kind: "livechat.transfer" }>,
) {
  openRoom(state);
  const released = await release(deps, state);
  const served = await assign(deps, released.state, c.to);
  const { state: next, message } = await transferMessage(deps, served, c.by, {
    scope: "agent",
    transferredTo: { _id: c.to._id, username: c.to.username },
    ...(c.comment && { comment: c.comment }),
  });
  return leftAgent(next, message, released.previousAgent);
}

async function serve(
  deps: CommandDeps,
  state: RoomState,
  c: Extract<LivechatCommand, { kind: "livechat.serve" }>,
) {
  const room = openRoom(state);
  if (room.servedBy) {
    throw new ClientError("error-room-already-served", "Room already served");
  }
  const next = await assign(deps, state, c.agent);
  return { state: next, reply: { room: next.room as OmnichannelRoom } };
}

async function close(
  deps: CommandDeps,
  state: RoomState,
  c: Extract<LivechatCommand, { kind: "livechat.close" }>,
) {
  const room = openRoom(state);
  const now = deps.clock.now();
  const previousAgent = room.servedBy;
  let next = state;
  const subs = await deps.db.subscriptions.find({ rid: room._id }, { projection: { u: 1 } });
  for (const sub of subs) next = await unsubscribe(deps, next, sub.u as unknown as User);
  const closed = (await deps.db.rooms.findOneAndUpdate(
    { _id: room._id },
    {
      $set: {
        closedAt: now,
        closer: c.closer,
        closedBy: c.by,
        chatDuration: (now.getTime() - room.ts.getTime()) / 1000,
        "v.status": "offline",
        _updatedAt: now,
        ...(c.tags && { tags: [...c.tags] }),
      },
      $unset: { open: "" },
    },
  )) as OmnichannelRoom;
  next = { ...next, room: closed };
  const ts = nextMessageTime(deps, closed);
  const message: Message = {
    _id: deps.ids.id(),
    rid: room._id,
    t: "livechat-close",
    msg: c.comment ?? "",
    ts,
    u: c.by,
    _updatedAt: ts,
    groupable: false,
  };
  next = await persistMessage(deps, next, message, false);
  return leftAgent(next, message, previousAgent);
}

async function save(
  deps: CommandDeps,
  state: RoomState,
  c: Extract<LivechatCommand, { kind: "livechat.save" }>,
) {
  omnichannelRoom(state.room);
  const room = (await deps.db.rooms.findOneAndUpdate(
    { _id: state.room._id },
    { $set: { ...c.set, _updatedAt: deps.clock.now() } },
  )) as OmnichannelRoom;
  return { state: { ...state, room }, reply: { room } };
}

/**
 * Saves what an agent edits of a conversation (topic, tags, custom fields) and, when the
 * visitor was renamed, the name the room, its inquiry and its subscriptions show; tells
 * the members.
 */
async function saveInfo(
  deps: CommandDeps,
  state: RoomState,
  c: Extract<LivechatCommand, { kind: "livechat.saveInfo" }>,
) {
  omnichannelRoom(state.room);
  const set = { ...c.set, ...(c.name !== undefined && { fname: c.name }) };
  const unset = Object.fromEntries(c.unset.map((key) => [key, ""]));
  const next = await updateRoom(deps, state, {
    $set: set,
    ...(c.unset.length > 0 && { $unset: unset }),
  });
  if (c.name !== undefined) {
    await updateSubscriptions(deps, next, { name: c.name, fname: c.name });
    await deps.db.livechatInquiries.updateOne({ rid: next.room._id }, { $set: { name: c.name } });
  }
  await announceRoom(deps, next, c.name !== undefined);
  return { state: next, reply: { room: next.room as OmnichannelRoom } };
}

export const livechatHandlers: CommandHandlers<LivechatCommand> = {
  "livechat.visitorSend": visitorSend,
  "livechat.visitorUpdate": visitorUpdate,
  "livechat.visitorDelete": visitorDelete,
  "livechat.serve": serve,
  "livechat.unserve": unserve,
  "livechat.transfer": transfer,
  "livechat.close": close,
  "livechat.save": save,
  "livechat.saveInfo": saveInfo,
};
