/**
 * The settings `saveRoomSettings` changes, as Rocket.Chat names them, and the checks that
 * run before any of them is written: the shape of each value, and who may change what.
 * A request fails whole or is applied whole (but for the rename, which runs first).
 */
import { ClientError } from "../core/errors.ts";
import type { Room, User } from "../core/models.ts";
import type { Authz } from "./authz.ts";
import { assertClientValue } from "./client-values.ts";
import { CUSTOM_FIELDS_MAX_CHARS, assertMessageSize } from "./message-validation.ts";
import type { Settings } from "./settings.ts";

/** The settings Parley changes; each is optional, and only those given change. */
export interface RoomSettingsPatch {
  readonly roomName?: string;
  readonly roomTopic?: string;
  readonly roomAnnouncement?: string;
  readonly roomDescription?: string;
  readonly roomType?: string;
  readonly readOnly?: boolean;
  readonly reactWhenReadOnly?: boolean;
  readonly systemMessages?: readonly string[];
  readonly default?: boolean;
  readonly featured?: boolean;
  readonly joinCode?: string;
  readonly roomCustomFields?: Record<string, unknown>;
  readonly favorite?: { readonly favorite?: boolean; readonly defaultValue?: boolean };
}

const TEXTS = ["roomName", "roomTopic", "roomAnnouncement", "roomDescription", "roomType"];
const FLAGS = ["readOnly", "reactWhenReadOnly", "default", "featured"];

/**
 * Settings Rocket.Chat accepts that Parley does not keep (avatars, end-to-end encryption,
 * retention policies, team side panels).
 *
 * Limitation: a request naming one of these is refused with `error-invalid-settings`,
 * where Rocket.Chat applies it; a client that saves them must leave them out.
 */
const UNSUPPORTED = new Set([
  "roomAvatar",
  "encrypted",
  "retentionEnabled",
  "retentionMaxAge",
  "retentionExcludePinned",
  "retentionFilesOnly",
  "retentionIgnoreThreads",
  "retentionOverrideGlobal",
  "sidepanel",
]);

/** Longest join code: a password typed by people, not a document. */
const JOIN_CODE_MAX_LENGTH = 256;
/**
 * The system message types a room may list in `systemMessages` (its `sysMes`): the keys
 * of Rocket.Chat's `MessageTypesValues`, where a client picks which ones the room hides.
 */
const SYSTEM_MESSAGE_TYPES: ReadonlySet<string> = new Set([
  "uj",
  "ujt",
  "ul",
  "ult",
  "ru",
  "removed-user-from-team",
  "au",
  "added-user-to-team",
  "mute_unmute",
  "r",
  "ut",
  "wm",
  "rm",
  "subscription-role-added",
  "subscription-role-removed",
  "room-archived",
  "room-unarchived",
  "room_changed_privacy",
  "room_changed_avatar",
  "room_changed_topic",
  "room_e2e_enabled",
  "room_e2e_disabled",
  "room-removed-read-only",
  "room-set-read-only",
  "room-disallowed-reacting",
  "room-allowed-reacting",
  "user-added-room-to-team",
  "user-converted-to-channel",
  "user-converted-to-team",
  "user-deleted-room-from-team",
  "user-removed-room-from-team",
  "room_changed_announcement",
  "room_changed_description",
]);

function invalidSetting(setting: string): ClientError {
  return new ClientError("error-invalid-settings", "Invalid settings provided", {
    details: { method: "saveRoomSettings", setting },
  });
}

/** Whether `value` is a list of known system message types, no longer than that list. */
function isSystemMessageList(value: unknown): value is string[] {
  return (
    Array.isArray(value) &&
    value.length <= SYSTEM_MESSAGE_TYPES.size &&
    value.every((v) => typeof v === "string" && SYSTEM_MESSAGE_TYPES.has(v))
  );
}

/** Reads one setting, throwing `error-invalid-settings` for a value of the wrong shape. */
function readSetting(key: string, value: unknown, settings: Settings): unknown {
  if (TEXTS.includes(key)) {
    if (value === null || value === undefined) return "";
    if (typeof value !== "string") throw invalidSetting(key);
    if (key !== "roomName" && key !== "roomType")
      assertMessageSize(settings, value, "saveRoomSettings");
    return value;
  }
  if (FLAGS.includes(key)) {
    if (typeof value !== "boolean") throw invalidSetting(key);
    return value;
  }
  if (key === "joinCode") {
    if (typeof value !== "string" || value.length > JOIN_CODE_MAX_LENGTH) throw invalidSetting(key);
    return value;
  }
  if (key === "systemMessages") {
    if (!isSystemMessageList(value)) throw invalidSetting(key);
    return [...value];
  }
  if (key === "roomCustomFields") {
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      throw new ClientError("invalid-roomCustomFields-type", "Invalid roomCustomFields type", {
        details: { function: "RocketChat.saveRoomCustomFields" },
      });
    }
    assertClientValue(value, "roomCustomFields", CUSTOM_FIELDS_MAX_CHARS);
    return value;
  }
  if (key === "favorite") {
    const fav = value as { favorite?: unknown; defaultValue?: unknown } | null;
    if (fav === null || typeof fav !== "object" || Array.isArray(fav)) throw invalidSetting(key);
    const ok = (v: unknown) => v === undefined || v === null || typeof v === "boolean";
    if (!ok(fav.favorite) || !ok(fav.defaultValue)) throw invalidSetting(key);
    return { favorite: fav.favorite === true, defaultValue: fav.defaultValue === true };
  }
  throw invalidSetting(key);
}

/**
 * The patch `raw` asks for. Throws Rocket.Chat's `error-invalid-settings` for a key it
 * does not know (and for those Parley does not keep, see UNSUPPORTED) or a value of the
 * wrong type, `error-message-size-exceeded` for a topic, announcement or description
 * longer than a message may be, and the errors of client values for custom fields.
 */
export function parseRoomSettings(
  raw: Record<string, unknown>,
  settings: Settings,
): RoomSettingsPatch {
  const patch: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (UNSUPPORTED.has(key)) throw invalidSetting(key);
    patch[key] = readSetting(key, value, settings);
  }
  return patch as RoomSettingsPatch;
}

function notAllowed(reason: string, action: string): ClientError {
  return new ClientError("error-action-not-allowed", reason, {
    details: { method: "saveRoomSettings", action },
  });
}

/**
 * Throws unless `user` may apply `patch` to `room`, with Rocket.Chat's errors: editing
 * needs `edit-room` in the room; `default` and `featured` need `view-room-administration`;
 * making a room public needs `create-c` and private `create-p`; a direct message can be
 * neither renamed nor retyped, and a type is `c` or `p`.
 */
export async function assertMayApply(
  authz: Authz,
  room: Room,
  user: User,
  patch: RoomSettingsPatch,
): Promise<void> {
  if (!(await authz.can(user, "edit-room", room._id))) {
    throw notAllowed("Editing room is not allowed", "Editing_room");
  }
  if (room.broadcast === true && (patch.readOnly || patch.reactWhenReadOnly)) {
    const reason = "Editing readOnly/reactWhenReadOnly are not allowed for broadcast rooms";
    throw notAllowed(reason, "Editing_room");
  }
  const adminOnly = patch.default !== undefined || patch.featured !== undefined;
  if (adminOnly && !(await authz.can(user, "view-room-administration"))) {
    throw notAllowed("Viewing room administration is not allowed", "Viewing_room_administration");
  }
  if (patch.roomName !== undefined && room.t === "d") {
    throw new ClientError("error-not-allowed", "Not allowed", {
      details: { function: "RocketChat.saveRoomdisplayName" },
    });
  }
  if (patch.roomType !== undefined && patch.roomType !== room.t)
    await assertMayRetype(authz, room, user, patch.roomType);
}

async function assertMayRetype(authz: Authz, room: Room, user: User, type: string) {
  if (type === "c" && !(await authz.can(user, "create-c"))) {
    throw notAllowed(
      "Changing a private group to a public channel is not allowed",
      "Change_Room_Type",
    );
  }
  if (type === "p" && !(await authz.can(user, "create-p"))) {
    throw notAllowed(
      "Changing a public channel to a private room is not allowed",
      "Change_Room_Type",
    );
  }
  if (type !== "c" && type !== "p") {
    throw new ClientError("error-invalid-room-type", "error-invalid-room-type", {
      details: { function: "RocketChat.saveRoomType", type },
    });
  }
  if (room.t === "d") {
    throw new ClientError("error-direct-room", "Can't change type of direct rooms", {
      details: { function: "RocketChat.saveRoomType" },
    });
  }
}
