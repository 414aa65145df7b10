/**
 * Marks that people put on messages, as commands of the room actor: reactions, pins and
 * stars, with Rocket.Chat's rules, answers and errors. Each change is stored, copied into
 * the room's `lastMessage` when it is that message, and streamed on
 * `stream-room-messages`; a pin also posts the `message_pinned` system message.
 */
import { ClientError } from "../core/errors.ts";
import type { Message, User } from "../core/models.ts";
import type { Collection, Doc, Filter } from "../store/types.ts";
import {
  keepAsHistory,
  persistMessage,
  refreshLastMessage,
  systemMessage,
} from "./message-commands.ts";
import type { CommandDeps, CommandHandlers, CommandResult, RoomState } from "./room-commands.ts";

/** The mark commands of a room actor. */
export type MarkCommand =
  | {
      readonly kind: "react";
      readonly user: User;
      readonly msgId: string;
      /** A `:shortcode:`, as reactionName gives it. */
      readonly reaction: string;
      /** Add (true) or remove (false) the user's reaction; absent toggles it. */
      readonly shouldReact?: boolean;
    }
  | { readonly kind: "pin"; readonly user: User; readonly msgId: string; readonly pinnedAt?: Date }
  | { readonly kind: "unpin"; readonly user: User; readonly msgId: string }
  | {
      readonly kind: "star";
      readonly user: User;
      readonly msgId: string;
      readonly starred: boolean;
    };

/**
 * The answer of mark command `C`: a pin answers the `message_pinned` system message (or the
 * message itself when it was pinned already), a reaction nothing, an unpin `true`, a star
 * whether anything was starred.
 */
export type MarkReply<C extends MarkCommand> = C extends { readonly kind: "pin" }
  ? Message
  : C extends { readonly kind: "react" }
    ? undefined
    : boolean;

/**
 * A shortcode name: letters, digits, `_`, `+` and `-`, as in `:+1:` or `:flag_fr:`, not
 * starting with `_` (no emoji name does; names such as `__proto__` do). The name is a key
 * in the stored `reactions`, so `.` and `$`, which would make it a path or an operator, are
 * never part of it; Rocket.Chat's own emoji and its custom emoji (slugs) have neither.
 */
const SHORTCODE = /^[a-z0-9+-][a-z0-9_+-]{0,63}$/i;

/**
 * The reaction `raw` names, as `:name:` (colons added or kept, as Rocket.Chat does), or
 * undefined when it is not one shortcode: a name alone or within one pair of colons, so
 * `:a:b:` is refused rather than read as `:ab:`. Names of the properties every object
 * inherits (`constructor`, `toString`) are refused too. Rocket.Chat also refuses Unicode
 * emoji here.
 *
 * Limitation: any well-formed shortcode is accepted. Rocket.Chat accepts only the names in
 * its emoji list and the workspace's custom emoji, so a client can react here with a name
 * that Rocket.Chat's own apps cannot draw (they show the name instead).
 */
export function reactionName(raw: string): string | undefined {
  const name = raw.startsWith(":") && raw.endsWith(":") ? raw.slice(1, -1) : raw;
  if (!SHORTCODE.test(name) || name in Object.prototype) return undefined;
  return `:${name}:`;
}

/** Rocket.Chat's answer to a caller who may not touch the room: `not-authorized`. */
function notAuthorized(method: string): ClientError {
  return new ClientError("not-authorized", "Not Authorized", { details: { method } });
}

/** The message `msgId` of this room, or null; hidden copies are not messages. */
function messageOf(deps: CommandDeps, state: RoomState, msgId: string) {
  return deps.db.messages.findOne({ _id: msgId, rid: state.room._id, _hidden: { $ne: true } });
}

async function mayRead(deps: CommandDeps, state: RoomState, user: User): Promise<boolean> {
  return state.members.has(user._id) || deps.authz.canAccessRoom(state.room, user);
}

/** Stores `changes` on message `msgId`, then keeps `lastMessage` and listeners up to date. */
async function change(
  deps: CommandDeps,
  state: RoomState,
  msgId: string,
  changes: { $set: Record<string, unknown>; $unset?: Record<string, ""> },
): Promise<{ state: RoomState; message: Message }> {
  const $set = { ...changes.$set, _updatedAt: deps.clock.now() };
  const message = await deps.db.messages.findOneAndUpdate({ _id: msgId }, { ...changes, $set });
  if (!message) throw new ClientError("error-invalid-message", "Invalid message");
  const next = await refreshLastMessage(deps, state, message);
  deps.hub.emit("stream-room-messages", state.room._id, [message]);
  return { state: next, message };
}

async function react(
  deps: CommandDeps,
  state: RoomState,
  c: Extract<MarkCommand, { kind: "react" }>,
): Promise<CommandResult<undefined>> {
  const { room } = state;
  const { user } = c;
  const message = await messageOf(deps, state, c.msgId);
  if (!message) {
    throw new ClientError("error-not-allowed", "Not allowed", {
      details: { method: "setReaction" },
    });
  }
  const reacted = message.reactions?.[c.reaction]?.usernames.includes(user.username) ?? false;
  const shouldReact = c.shouldReact ?? !reacted;
  // Asking for what already is changes nothing, and Rocket.Chat answers it without checks.
  if (shouldReact === reacted) return { state, reply: undefined };
  if (!(await mayRead(deps, state, user))) throw notAuthorized("setReaction");
  if (Array.isArray(room.muted) && room.muted.includes(user.username)) {
    const reason = "You have been muted and cannot speak in this room";
    throw new ClientError("error-not-allowed", reason, { details: { rid: room._id } });
  }
  const unmuted = Array.isArray(room.unmuted) && room.unmuted.includes(user.username);
  if (
    room.ro === true &&
    room.reactWhenReadOnly !== true &&
    !unmuted &&
    !(await deps.authz.can(user, "post-readonly", room._id))
  ) {
    throw new ClientError(
      "error-not-allowed",
      "You can't send messages because the room is readonly.",
      { plain: true },
    );
  }

  const next = await storeReaction(
    deps,
    state,
    message._id,
    c.reaction,
    user.username,
    shouldReact,
  );
  return { state: next.state, reply: undefined };
}

/**
 * Adds `username` to (`add`) or removes it from the reaction `reaction` of message
 * `msgId`, and of the room's `lastMessage` when that is the message, then streams the
 * message. Several processes may run an actor for one room, so each step is one atomic
 * update whose filter says what it expects: adding never rewrites other reactions, and
 * an emptied reaction (then an emptied `reactions`) is removed only while it is still
 * empty, so a reaction added in between stays. Throws `error-invalid-message` when the
 * message is gone.
 */
async function storeReaction(
  deps: CommandDeps,
  state: RoomState,
  msgId: string,
  reaction: string,
  username: string,
  add: boolean,
): Promise<{ state: RoomState; message: Message }> {
  const change = { reaction, username, add, now: deps.clock.now() };
  await applyReaction(deps.db.messages, { _id: msgId }, "", change);
  const onLast = { _id: state.room._id, "lastMessage._id": msgId };
  const lastChanged = await applyReaction(deps.db.rooms, onLast, "lastMessage.", change);

  const message = await deps.db.messages.findOne({ _id: msgId });
  if (!message) throw new ClientError("error-invalid-message", "Invalid message");
  const room = lastChanged ? await deps.db.rooms.findOne({ _id: state.room._id }) : null;
  deps.hub.emit("stream-room-messages", state.room._id, [message]);
  return { state: room ? { ...state, room } : state, message };
}

/**
 * Applies a reaction change to the first document of `collection` matching `filter`,
 * whose message lies at `prefix` ("" for a message, "lastMessage." for a room). A
 * reaction is a shortcode (see reactionName), so it never holds `.` or `$` and names one
 * field. Resolves whether the document matched and changed.
 */
async function applyReaction<T extends Doc>(
  collection: Collection<T>,
  filter: Filter,
  prefix: string,
  change: { reaction: string; username: string; add: boolean; now: Date },
): Promise<boolean> {
  const reactions = `${prefix}reactions`;
  const entry = `${reactions}.${change.reaction}`;
  const usernames = `${entry}.usernames`;
  const touched = { [`${prefix}_updatedAt`]: change.now };
  if (change.add) {
    const update = { $addToSet: { [usernames]: change.username }, $set: touched };
    return (await collection.updateOne(filter, update)).matchedCount > 0;
  }

  const pulled = await collection.updateOne(
    { ...filter, [usernames]: change.username },
    { $pull: { [usernames]: change.username }, $set: touched },
  );
  if (pulled.matchedCount === 0) return false;
  await collection.updateOne({ ...filter, [usernames]: { $size: 0 } }, { $unset: { [entry]: "" } });
  await collection.updateOne(
    { ...filter, [reactions]: { $eq: {} } },
    { $unset: { [reactions]: "" } },
  );
  return true;
}

/**
 * Throws Rocket.Chat's `error-action-not-allowed` while pinning is switched off
 * (Message_AllowPinning); `method` names the caller in the details.
 */
export function assertPinningAllowed(deps: Pick<CommandDeps, "settings">, method: string): void {
  if (deps.settings.get<boolean>("Message_AllowPinning") === false) {
    throw new ClientError("error-action-not-allowed", "Message pinning not allowed", {
      details: { method, action: "Message_pinning" },
    });
  }
}

async function pin(
  deps: CommandDeps,
  state: RoomState,
  c: Extract<MarkCommand, { kind: "pin" }>,
): Promise<CommandResult<Message>> {
  const { user } = c;
  const original = await messageOf(deps, state, c.msgId);
  if (!original) {
    throw new ClientError("error-invalid-message", "Message you are pinning was not found", {
      details: { method: "pinMessage", action: "Message_pinning" },
    });
  }
  assertPinningAllowed(deps, "pinMessage");
  if (!(await deps.authz.can(user, "pin-message", state.room._id))) {
    throw notAuthorized("pinMessage");
  }
  if (!(await mayRead(deps, state, user))) throw notAuthorized("pinMessage");
  if (original.pinned) return { state, reply: original };

  const pinnedBy = { _id: user._id, username: user.username };
  const pinnedAt = c.pinnedAt ?? deps.clock.now();
  const pinned = await change(deps, state, original._id, {
    $set: { pinned: true, pinnedAt, pinnedBy },
  });
  const notice: Message = {
    ...systemMessage(deps, pinned.state.room, "message_pinned", user, ""),
    attachments: [pinAttachment(original)],
  };
  return { state: await persistMessage(deps, pinned.state, notice, false), reply: notice };
}

/** How deep quotes of quotes are kept in a pin's attachment (Message_QuoteChainLimit's default). */
const QUOTE_CHAIN_LIMIT = 2;

/** Keeps a quote attachment's nested quotes down to QUOTE_CHAIN_LIMIT levels. */
function trimQuote(attachment: Record<string, unknown>, depth: number): Record<string, unknown> {
  const { attachments, ...rest } = attachment;
  if (depth > QUOTE_CHAIN_LIMIT || !Array.isArray(attachments)) return rest;
  const nested = attachments.filter(isQuote).map((a) => trimQuote(a, depth + 1));
  return { ...rest, attachments: nested };
}

function isQuote(attachment: unknown): attachment is Record<string, unknown> {
  const link = (attachment as { message_link?: unknown } | null)?.message_link;
  return typeof link === "string";
}

/**
 * The attachment of a `message_pinned` system message: the pinned text, its author and
 * time, and the message's quotes (each linked message once).
 *
 * Limitation: Rocket.Chat also lists the pinned message's other attachments there, as
 * empty entries; they are left out here.
 */
function pinAttachment(message: Message): Record<string, unknown> {
  const quotes = (message.attachments ?? []).filter(isQuote);
  const unique = quotes.filter(
    (q, i) => quotes.findIndex((o) => o.message_link === q.message_link) === i,
  );
  return {
    text: message.msg,
    author_name: message.u.username,
    author_icon: `/avatar/${encodeURIComponent(message.u.username)}`,
    ts: message.ts,
    attachments: unique.map((q) => trimQuote(q, 1)),
  };
}

async function unpin(
  deps: CommandDeps,
  state: RoomState,
  c: Extract<MarkCommand, { kind: "unpin" }>,
): Promise<CommandResult<boolean>> {
  const { user } = c;
  assertPinningAllowed(deps, "unpinMessage");
  const original = await messageOf(deps, state, c.msgId);
  // A message of a room the user is not in answers as one that does not exist.
  if (!original || !state.members.has(user._id)) {
    throw new ClientError("error-invalid-message", "Message you are unpinning was not found", {
      details: { method: "unpinMessage", action: "Message_pinning" },
    });
  }
  if (!(await deps.authz.can(user, "pin-message", state.room._id))) {
    throw notAuthorized("unpinMessage");
  }
  if (deps.settings.get<boolean>("Message_KeepHistory") === true) {
    await keepAsHistory(deps, original, user, deps.clock.now());
  }
  const pinnedBy = { _id: user._id, username: user.username };
  const next = await change(deps, state, original._id, { $set: { pinned: false, pinnedBy } });
  return { state: next.state, reply: true };
}

/**
 * Throws Rocket.Chat's `error-action-not-allowed` while starring is switched off
 * (Message_AllowStarring).
 */
export function assertStarringAllowed(deps: Pick<CommandDeps, "settings">): void {
  if (deps.settings.get<boolean>("Message_AllowStarring") === false) {
    throw new ClientError("error-action-not-allowed", "Message starring not allowed", {
      details: { method: "starMessage", action: "Message_starring" },
    });
  }
}

async function star(
  deps: CommandDeps,
  state: RoomState,
  c: Extract<MarkCommand, { kind: "star" }>,
): Promise<CommandResult<boolean>> {
  assertStarringAllowed(deps);
  // Rocket.Chat answers `false`, not an error, to a non-member and for a missing message.
  if (!state.members.has(c.user._id)) return { state, reply: false };
  const message = await messageOf(deps, state, c.msgId);
  if (!message) return { state, reply: false };
  const others = (message.starred ?? []).filter((s) => s._id !== c.user._id);
  const starred = c.starred ? [...others, { _id: c.user._id }] : others;
  const next = await change(deps, state, message._id, { $set: { starred } });
  return { state: next.state, reply: true };
}

export const markHandlers: CommandHandlers<MarkCommand> = {
  react,
  pin,
  unpin,
  star,
};
