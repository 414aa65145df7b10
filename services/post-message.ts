/**
 * Posting the way bots and integrations do (`chat.postMessage`, and later incoming
 * webhooks): the target is named as `#name`, `@username`, or a bare room id, room name
 * or user id; public channels are joined on the way and direct messages opened, as
 * Rocket.Chat's webhook message processing does. The message itself is sent through the
 * room's actor like any other.
 */
import { ClientError } from "../core/errors.ts";
import type { Message, Room, User } from "../core/models.ts";
import type { Services } from "./index.ts";
import type { MessageDraft } from "./room-commands.ts";

/** The fields of a post, as `chat.postMessage` takes them. */
export interface PostInput {
  /** Where to post; one target or several. `channel` wins over `roomId`. */
  readonly channel?: string | readonly string[];
  readonly roomId?: string | readonly string[];
  readonly text?: string;
  readonly alias?: string;
  readonly emoji?: string;
  readonly avatar?: string;
  readonly attachments?: readonly Record<string, unknown>[];
  readonly tmid?: string;
  readonly customFields?: Record<string, unknown>;
}

/** One message sent, with the target as the caller named it. */
export interface Posted {
  readonly channel: string;
  readonly message: Message;
}

/** Rocket.Chat's answer to a target that names nothing this user can post to. */
function invalidChannel(): ClientError {
  return new ClientError("invalid-channel");
}

async function roomByIdOrName(services: Services, nameOrId: string): Promise<Room | null> {
  const { rooms } = services.deps.db;
  return (await rooms.findOne({ _id: nameOrId })) ?? (await rooms.findOne({ name: nameOrId }));
}

/**
 * The direct message between `me` and the user `nameOrId` (an id, or also a username
 * unless `byIdOnly`), opened if need be; else a direct room with that id; else null.
 */
async function directRoom(
  services: Services,
  me: User,
  nameOrId: string,
  byIdOnly: boolean,
): Promise<Room | null> {
  const { users, rooms } = services.deps.db;
  const other =
    (await users.findOne({ _id: nameOrId })) ??
    (byIdOnly ? null : await users.findOne({ username: nameOrId }));
  if (!other) {
    const room = await rooms.findOne({ _id: nameOrId });
    return room?.t === "d" ? room : null;
  }
  const uids = [...new Set([me._id, other._id])];
  const existing = await rooms.findOne({ t: "d", uids: { $size: uids.length, $all: uids } });
  return existing ?? services.rooms.createDirect(me, [other.username]);
}

/** Subscribes `user` to a public channel they have not joined yet, as posting there does. */
async function joinIfPublic(services: Services, room: Room, user: User): Promise<void> {
  if (room.t !== "c" || (await services.authz.isMember(room._id, user._id))) return;
  await services.deps.rooms.execute(room._id, { kind: "join", user });
}

/**
 * The room `channel` names for `user`: `#name` or `#id` (joining a public channel),
 * `@username` or `@id` (opening the direct message), or else a room id or name, then a
 * user id. Throws `invalid-channel` when nothing matches.
 */
export async function resolveChannel(
  services: Services,
  user: User,
  channel: string,
): Promise<Room> {
  let room: Room | null;
  if (channel.startsWith("#")) {
    room = await roomByIdOrName(services, channel.slice(1));
  } else if (channel.startsWith("@")) {
    room = await directRoom(services, user, channel.slice(1), false);
  } else {
    room =
      (await roomByIdOrName(services, channel)) ??
      (await directRoom(services, user, channel, true));
  }
  if (!room) throw invalidChannel();
  await joinIfPublic(services, room, user);
  return room;
}

/** The message a post makes: an avatar wins over an emoji, and attachment `msg` becomes `text`. */
function draftOf(input: PostInput): MessageDraft {
  const attachments = input.attachments?.map((attachment) => {
    if (typeof attachment.msg !== "string" || attachment.msg === "") return attachment;
    const { msg, ...rest } = attachment;
    return { ...rest, text: (msg as string).trim() };
  });
  return {
    msg: (input.text ?? "").trim(),
    ...(input.alias && { alias: input.alias }),
    ...(input.avatar ? { avatar: input.avatar } : input.emoji ? { emoji: input.emoji } : {}),
    ...(attachments && { attachments }),
    ...(input.tmid !== undefined && { tmid: input.tmid }),
    ...(input.customFields !== undefined && { customFields: input.customFields }),
  };
}

/**
 * Posts `input` as `user` to each distinct target, in order, and returns what was sent.
 * Throws `invalid-channel` for no target or an unknown one, and whatever the room actor
 * refuses (not a member of a private room, read-only room, invalid message).
 */
export async function postMessage(
  services: Services,
  user: User,
  input: PostInput,
): Promise<Posted[]> {
  const named = input.channel || input.roomId || [];
  const targets = [...new Set(typeof named === "string" ? [named] : named)].filter((c) => c !== "");
  if (targets.length === 0) throw invalidChannel();

  const posted: Posted[] = [];
  for (const channel of targets) {
    const room = await resolveChannel(services, user, channel);
    const message = await services.deps.rooms.execute(room._id, {
      kind: "send",
      user,
      draft: draftOf(input),
    });
    posted.push({ channel, message });
  }
  return posted;
}
