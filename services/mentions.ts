/**
 * What a message's text says about people and rooms, as Rocket.Chat reads it:
 * `@username` mentions of users who exist (whether or not they are in the room), the
 * group mentions `@all` and `@here` and the permissions that allow them, `#name` links to
 * rooms that exist, and the private notice a sender gets for mentioning someone who is not
 * in the room. A mention of a user who does not exist is left out, silently.
 */
import { ClientError } from "../core/errors.ts";
import type { Mention, User } from "../core/models.ts";
import type { CommandDeps, RoomState } from "./room-commands.ts";
import type { Settings } from "./settings.ts";

/** Mentions and room links found in a text. */
export interface TextReferences {
  /** `all`/`here` first, then users in the order the text names them. */
  readonly mentions: Mention[];
  readonly channels: { _id: string; name: string }[];
}

/** The group mentions, with the permission each needs. */
const GROUP_MENTIONS = { all: "mention-all", here: "mention-here" } as const;

/** Rocket.Chat's default of UTF8_User_Names_Validation, used when the setting does not compile. */
const DEFAULT_NAME_PATTERN = "[0-9a-zA-Z-_.]+";

/**
 * The patterns of `@name` and `#name`, from the setting UTF8_User_Names_Validation (which
 * Rocket.Chat uses for both). A name is preceded by the start of a line, a space or `>`;
 * `@user@server` and `@user:server` (federation) are taken whole, so that they match no
 * local user.
 */
function referencePatterns(settings: Settings): { user: RegExp; room: RegExp } {
  const configured = settings.get<string>("UTF8_User_Names_Validation") ?? DEFAULT_NAME_PATTERN;
  const build = (name: string) => ({
    user: new RegExp(`(?:^|\\s|>)@(${name}(?:@${name})?(?::[0-9a-zA-Z-_.]+)?)`, "gm"),
    room: new RegExp(`(?:^|\\s|>)#(${name}(?:@${name})?)`, "gm"),
  });
  try {
    return build(configured);
  } catch {
    return build(DEFAULT_NAME_PATTERN);
  }
}

/** Whether `name` is `all` or `here` (own keys only: `@constructor` is a user name). */
function isGroup(name: string): name is keyof typeof GROUP_MENTIONS {
  return Object.hasOwn(GROUP_MENTIONS, name);
}

function namesIn(text: string, pattern: RegExp): string[] {
  return [...new Set([...text.matchAll(pattern)].map((m) => m[1] as string))];
}

/**
 * The mentions and room links of `text`: `@all`/`@here` as `{_id, username}`, users that
 * exist as `{_id, username, name, type: "user"}`, and rooms (channels and private groups)
 * that exist as `{_id, name}`.
 */
export async function referencesIn(
  deps: Pick<CommandDeps, "db" | "settings">,
  text: string,
): Promise<TextReferences> {
  const patterns = referencePatterns(deps.settings);
  const names = namesIn(text, patterns.user);
  const groups = names.filter(isGroup);
  const usernames = names.filter((n) => !isGroup(n));
  const roomNames = namesIn(text, patterns.room);

  const [users, rooms] = await Promise.all([
    usernames.length === 0
      ? []
      : deps.db.users.find(
          { username: { $in: usernames } },
          { projection: { _id: 1, username: 1, name: 1 } },
        ),
    roomNames.length === 0
      ? []
      : deps.db.rooms.find(
          { name: { $in: roomNames }, t: { $in: ["c", "p"] } },
          { projection: { _id: 1, name: 1 } },
        ),
  ]);
  const byName = new Map(users.map((u) => [u.username, u]));
  const mentioned = usernames.flatMap((n) => {
    const user = byName.get(n);
    return user ? [mentionOf(user)] : [];
  });
  return {
    mentions: [...groups.map((g) => ({ _id: g, username: g })), ...mentioned],
    channels: rooms.map((r) => ({ _id: r._id, name: r.name as string })),
  };
}

function mentionOf(user: Pick<User, "_id" | "username" | "name">): Mention {
  return {
    _id: user._id,
    username: user.username,
    ...(user.name !== undefined && { name: user.name }),
    type: "user",
  };
}

/**
 * Throws Rocket.Chat's `error-action-not-allowed` ("Notify all in this room not allowed",
 * or "here") when `mentions` hold `@all` or `@here` and `sender` lacks `mention-all` or
 * `mention-here`, globally and in room `rid`. Only new messages are checked: an edit
 * notifies nobody, so Rocket.Chat lets it through.
 */
export async function assertGroupMentionsAllowed(
  deps: Pick<CommandDeps, "authz">,
  sender: User,
  rid: string,
  mentions: readonly Mention[],
): Promise<void> {
  for (const [group, permission] of Object.entries(GROUP_MENTIONS)) {
    if (!mentions.some((m) => m._id === group)) continue;
    if (await deps.authz.can(sender, permission, rid)) continue;
    // Rocket.Chat names the @all action in the details for @here too.
    throw new ClientError("error-action-not-allowed", `Notify ${group} in this room not allowed`, {
      details: { action: "Notify all in this room" },
    });
  }
}

/** The permissions with which a sender could add a mentioned outsider to the room. */
const ADD_PERMISSIONS = [
  "add-user-to-joined-room",
  "add-user-to-any-c-room",
  "add-user-to-any-p-room",
];

/**
 * Tells `sender`, privately on `<uid>/message`, which of the users their new message
 * `mentions` are not members of the room, as Rocket.Chat does (not in direct messages). The
 * notice is a UIKit section; Rocket.Chat adds buttons to add or notify those users.
 *
 * Limitation: the buttons are left out, because Parley has no UIKit interaction endpoint
 * to act on them; a sender who wants the users in the room adds them as usual.
 */
export async function noticeMentionsOutsideRoom(
  deps: CommandDeps,
  state: RoomState,
  sender: User,
  mentions: readonly Mention[],
): Promise<void> {
  if (state.room.t === "d") return;
  const outside = mentions.filter((m) => !isGroup(m._id) && !state.members.has(m._id));
  if (outside.length === 0) return;
  let mayAdd = false;
  for (const permission of ADD_PERMISSIONS) {
    mayAdd ||= await deps.authz.can(sender, permission, state.room._id);
  }
  const names = outside.map((m) => `@${m.username}`).join(", ");
  const text = mayAdd
    ? `You mentioned ${names}, but they're not in this room.`
    : `You mentioned ${names}, but they're not in this room. You can ask a room admin to add them.`;
  notifyEphemeral(deps, sender._id, state.room._id, {
    msg: "",
    mentions: outside,
    blocks: [{ type: "section", text: { type: "mrkdwn", text } }],
    private: true,
  });
}

/**
 * Sends user `uid` a message only they see, in room `rid`, on `<uid>/message`: Rocket.Chat's
 * ephemeral message, `{groupable: false, ...fields, _id, rid, ts}`.
 */
export function notifyEphemeral(
  deps: Pick<CommandDeps, "hub" | "ids" | "clock">,
  uid: string,
  rid: string,
  fields: Record<string, unknown>,
): void {
  const message = { groupable: false, ...fields, _id: deps.ids.id(), rid, ts: deps.clock.now() };
  deps.hub.emit("stream-notify-user", `${uid}/message`, [message]);
}
