/**
 * Discussions: rooms of their own (`prid` names the parent) started from a room or from
 * one of its messages, linked from the parent by a `discussion-created` message whose
 * `dcount`/`dlm` follow the discussion (see discussion-commands.ts). Creating one, as
 * Rocket.Chat's createDiscussion does, and listing a room's discussions and the messages
 * that link to them.
 */
import { ClientError } from "../core/errors.ts";
import type { Message, Room, Subscription, User } from "../core/models.ts";
import type { Sort } from "../store/types.ts";
import { assertCanStartDiscussion } from "./discussion-commands.ts";
import type { Services } from "./index.ts";
import { assertMessageSize } from "./message-validation.ts";
import { newSubscription, roomView } from "./rooms.ts";
import { withStoreLock } from "./store-locks.ts";

/** What `rooms.createDiscussion` and the `createDiscussion` method take. */
export interface NewDiscussion {
  /** The parent room; optional when `pmid` is given (its room is the parent). */
  readonly prid?: string;
  /** The message the discussion starts from. */
  readonly pmid?: string;
  /** The discussion's display name (`t_name`). */
  readonly name: string;
  /** A first message posted in the discussion. */
  readonly reply?: string;
  /** Usernames invited besides the creator; unknown ones are left out. */
  readonly users: readonly string[];
  readonly encrypted?: boolean;
  readonly topic?: string;
}

/** One page of a listing with its optional text filter. */
export interface DiscussionPage {
  readonly offset: number;
  readonly count: number;
  readonly sort?: Sort;
  readonly text?: string;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function notAllowed(): ClientError {
  return new ClientError("error-action-not-allowed", "You are not allowed to create a discussion", {
    details: { method: "createDiscussion" },
  });
}

/** A C0 or C1 control character, which a display name shown in room lists cannot hold. */
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;

function invalidArguments(reason: string): ClientError {
  return new ClientError("error-invalid-arguments", reason, {
    details: { method: "DiscussionCreation" },
  });
}

/** The path a client opens a room at, as Rocket.Chat's message links carry it. */
function routeOf(room: Room): string {
  if (room.t === "d") return `/direct/${room._id}`;
  return `/${room.t === "p" ? "group" : "channel"}/${room.name ?? room._id}`;
}

/** The quote of `message` that the linking message and the discussion show. */
function quoteOf(message: Message, room: Room): Record<string, unknown> {
  return {
    text: room.encrypted ? "Encrypted message" : message.msg,
    authorName: message.u.username,
    authorIcon: `/avatar/${encodeURIComponent(message.u.username)}`,
    message_link: `${routeOf(room)}?msg=${message._id}`,
    ...(message.attachments && { attachments: message.attachments }),
    ts: message.ts,
  };
}

/**
 * The message `pmid` names and the parent it implies: its room, or that room's parent
 * when it is a discussion. A message the user cannot read answers like a missing one.
 */
async function startingMessage(services: Services, user: User, pmid: string, prid?: string) {
  const message = await services.messages.byId(pmid);
  const room = message && (await services.rooms.byId(message.rid));
  if (!message || !room || !(await services.authz.canAccessRoom(room, user))) {
    throw new ClientError("error-invalid-message", "Invalid message", {
      details: { method: "DiscussionCreation" },
    });
  }
  const parentId = typeof room.prid === "string" ? room.prid : room._id;
  if (prid !== undefined && prid !== parentId) {
    throw invalidArguments("Root message room ID does not match parent room ID ");
  }
  return { message, room, prid: parentId };
}

/** Throws unless discussions are enabled and `user` may start one in room `prid`. */
async function assertMayStart(services: Services, user: User, prid: string | undefined) {
  if (services.settings.get<boolean>("Discussion_enabled") === false) throw notAllowed();
  const rid = prid || undefined;
  const allowed =
    (await services.authz.can(user, "start-discussion", rid)) ||
    (await services.authz.can(user, "start-discussion-other-user", rid));
  if (!allowed) throw notAllowed();
}

/**
 * Creates a discussion of `input.prid` (or of the room of `input.pmid`) owned by `user`,
 * with `input.users` and the author of the starting message as members, posts the
 * linking message in the parent through its actor, then the reply in the discussion.
 * Resolves to the discussion with `rid` and `inserted`, as Rocket.Chat answers. A message
 * that already has a discussion gets no second one: the user joins the first.
 * Throws Rocket.Chat's errors: `error-action-not-allowed`, `error-invalid-message`,
 * `error-invalid-arguments`, `error-invalid-room`, `error-not-allowed`,
 * `error-nested-discussion`, `error-message-size-exceeded`.
 */
export async function createDiscussion(
  services: Services,
  user: User,
  input: NewDiscussion,
): Promise<Record<string, unknown>> {
  await assertMayStart(services, user, input.prid);
  const start = input.pmid
    ? await startingMessage(services, user, input.pmid, input.prid)
    : undefined;
  const prid = start?.prid ?? input.prid;
  if (!prid) throw invalidArguments("Missing parent room ID");

  const parent = await services.rooms.byId(prid);
  if (!parent) throw new ClientError("error-invalid-room");
  await assertCanStartDiscussion(services, parent, user);
  const encrypted =
    typeof input.encrypted === "boolean" ? input.encrypted : Boolean(parent.encrypted);
  if (encrypted && input.reply) {
    throw invalidArguments("Encrypted discussions must not receive an initial reply.");
  }
  assertMessageSize(services.settings, input.name, "createDiscussion");
  if (CONTROL_CHARACTER.test(input.name)) {
    throw invalidArguments("Discussion name must not contain control characters");
  }
  assertMessageSize(services.settings, input.reply, "createDiscussion");

  if (!start) return startDiscussion(services, user, parent, input, encrypted);
  // Two requests for one message (a double click, two users at once) must not both find
  // no discussion and both make one: the second waits, then finds the first whole.
  return withStoreLock(services.deps, `discussion:${start.message._id}`, async () => {
    const existing = await services.deps.db.rooms.findOne({ prid, pmid: start.message._id });
    if (existing) return joinExisting(services, user, existing);
    return startDiscussion(services, user, parent, input, encrypted, start);
  });
}

/** Makes the discussion and links it from the room of `start`, or from the parent. */
async function startDiscussion(
  services: Services,
  user: User,
  parent: Room,
  input: NewDiscussion,
  encrypted: boolean,
  start?: { message: Message; room: Room },
): Promise<Record<string, unknown>> {
  const prid = parent._id;
  const quote = start && quoteOf(start.message, start.room);
  const room = await insertDiscussion(services, user, parent, input, encrypted, start?.message);
  const linkedFrom = start?.room._id ?? prid;
  try {
    await services.deps.rooms.execute(linkedFrom, {
      kind: "discussion-created",
      user,
      drid: room._id,
      name: input.name,
      ...(start && { pmid: start.message._id }),
      ...(quote && { attachment: quote }),
    });
  } catch (error) {
    await removeDiscussion(services, room);
    throw error;
  }
  if (input.reply) {
    await services.deps.rooms.execute(room._id, {
      kind: "send",
      user,
      draft: { msg: input.reply },
    });
  }
  return { rid: room._id, inserted: true, ...roomView(room) };
}

async function joinExisting(services: Services, user: User, discussion: Room) {
  const room = await services.deps.rooms.execute(discussion._id, {
    kind: "join",
    user,
    asDefault: true,
  });
  return { ...roomView(room), rid: room._id };
}

/**
 * Writes the discussion room, its members' subscriptions and, when it starts from a
 * message, the quote of that message as its first (uncounted) message. The room is new
 * and announced only at the end, so no actor or client can see it half made.
 */
async function insertDiscussion(
  services: Services,
  owner: User,
  parent: Room,
  input: NewDiscussion,
  encrypted: boolean,
  message: Message | undefined,
): Promise<Room> {
  const { db, ids, clock, hub } = services.deps;
  const invited = [...new Set([...(message ? [message.u.username] : []), ...input.users])];
  const others = invited.length
    ? await db.users.find({ username: { $in: invited }, _id: { $ne: owner._id } })
    : [];
  const members = [owner, ...others];
  const now = clock.now();
  const topic = input.topic || parent.name;
  const room: Room = {
    _id: ids.id(),
    fname: input.name,
    _updatedAt: now,
    ...(message && { description: parent.encrypted ? "" : message.msg, pmid: message._id }),
    ...(topic && { topic }),
    prid: parent._id,
    encrypted,
    name: ids.id(),
    t: parent.t === "c" ? "c" : "p",
    msgs: 0,
    usersCount: members.length,
    u: {
      _id: owner._id,
      username: owner.username,
      ...(owner.name !== undefined && { name: owner.name }),
    },
    ts: now,
    ro: false,
  };
  await db.rooms.insertOne(room);
  if (message) {
    await db.messages.insertOne({
      _id: ids.id(),
      rid: room._id,
      msg: "",
      u: { _id: owner._id, username: owner.username, ...(owner.name && { name: owner.name }) },
      ts: now,
      _updatedAt: now,
      attachments: [quoteOf(message, parent)],
    });
  }
  const subs: Subscription[] = members.map((member) =>
    newSubscription(services.deps, room, member, {
      prid: parent._id,
      ...(member._id === owner._id && { roles: ["owner"] }),
    }),
  );
  await db.subscriptions.insertMany(subs);
  for (const sub of subs) {
    hub.emit("stream-notify-user", `${sub.u._id}/rooms-changed`, ["inserted", roomView(room)]);
    hub.emit("stream-notify-user", `${sub.u._id}/subscriptions-changed`, ["inserted", sub]);
  }
  return room;
}

/** Undoes insertDiscussion when the parent refused the linking message. */
async function removeDiscussion(services: Services, room: Room): Promise<void> {
  const { db, hub } = services.deps;
  const subs = await db.subscriptions.find({ rid: room._id });
  await db.subscriptions.deleteMany({ rid: room._id });
  await db.messages.deleteMany({ rid: room._id });
  await db.rooms.deleteOne({ _id: room._id });
  for (const sub of subs) {
    hub.emit("stream-notify-user", `${sub.u._id}/rooms-changed`, ["removed", { _id: room._id }]);
    hub.emit("stream-notify-user", `${sub.u._id}/subscriptions-changed`, [
      "removed",
      { _id: sub._id, u: { _id: sub.u._id }, rid: room._id, t: room.t },
    ]);
    hub.signal(sub.u._id, { type: "room-access-revoked", rid: room._id });
  }
}

/**
 * One page of the discussions of room `rid`, by display name unless said otherwise;
 * `text` keeps those whose name contains it, ignoring case.
 */
export async function roomDiscussions(services: Services, rid: string, page: DiscussionPage) {
  const query = {
    prid: rid,
    ...(page.text && { fname: { $regex: escapeRegex(page.text), $options: "i" } }),
  };
  const { rooms } = services.deps.db;
  const [discussions, total] = await Promise.all([
    rooms.find(query, { sort: page.sort ?? { fname: 1 }, skip: page.offset, limit: page.count }),
    rooms.countDocuments(query),
  ]);
  return { discussions: discussions.map(roomView), count: discussions.length, total };
}

/**
 * One page of the messages of room `rid` that link to a discussion, newest first unless
 * said otherwise; `text` keeps those whose text contains it, ignoring case.
 */
export async function discussionMessages(services: Services, rid: string, page: DiscussionPage) {
  const query = {
    rid,
    drid: { $exists: true },
    ...(page.text && { msg: { $regex: escapeRegex(page.text), $options: "i" } }),
  };
  const { messages } = services.deps.db;
  const [found, total] = await Promise.all([
    messages.find(query, { sort: page.sort ?? { ts: -1 }, skip: page.offset, limit: page.count }),
    messages.countDocuments(query),
  ]);
  return { messages: found, count: found.length, total };
}
