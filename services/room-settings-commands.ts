/**
 * Room-settings commands of the room actor: `saveRoomSettings` (name, topic, description,
 * announcement, type, read-only, join code, custom fields, …) and archiving. Every check
 * runs before the first write; each change that Rocket.Chat announces posts its system
 * message (`r`, `room_changed_topic`, `room-set-read-only`, `room-archived`, …), which
 * bumps `msgs`, and the members hear of the new room on `rooms-changed`.
 */
import { ClientError } from "../core/errors.ts";
import type { User } from "../core/models.ts";
import {
  announceRoom,
  postSystemMessage,
  updateRoom,
  updateSubscriptions,
} from "./room-changes.ts";
import type { CommandDeps, CommandHandlers, RoomState } from "./room-commands.ts";
import { assertNoUserNamed, claimRoomName } from "./room-name-claims.ts";
import { assertMayApply, type RoomSettingsPatch } from "./room-settings-rules.ts";
import { mainTeamOf } from "./team-members.ts";

/** The room-settings commands; each answers with the room as it is afterwards. */
export type RoomSettingsCommand =
  | { readonly kind: "settings.save"; readonly user: User; readonly patch: RoomSettingsPatch }
  | { readonly kind: "settings.archive"; readonly user: User }
  | { readonly kind: "settings.unarchive"; readonly user: User };

type Outcome = Promise<{ state: RoomState; reply: RoomState["room"] }>;

/**
 * Keeps a team's record in step with its main room, which the main room's actor alone
 * renames and retypes: a team is named and typed after its main room.
 */
async function syncTeam(
  deps: CommandDeps,
  teamId: string,
  set: { name?: string; type?: 0 | 1 },
): Promise<void> {
  await deps.db.teams.updateOne(
    { _id: teamId },
    { $set: { ...set, _updatedAt: deps.clock.now() } },
  );
}

/**
 * Renames the room to `displayName`, as Rocket.Chat's saveRoomName: nothing for the
 * current name or a blank one; a discussion changes only its shown name; any other room
 * claims the new name, which no user may hold either (`error-duplicate-handle`), and its
 * members' subscriptions follow. Posts `r` with the new display name.
 */
async function rename(deps: CommandDeps, state: RoomState, user: User, displayName: string) {
  const { room } = state;
  if (displayName === room.name || !displayName.trim()) return state;
  if (room.prid !== undefined) {
    const next = await updateRoom(deps, state, { $set: { fname: displayName } });
    await updateSubscriptions(deps, next, { fname: displayName });
    return postSystemMessage(deps, next, user, "r", displayName);
  }
  const next = await claimRoomName(deps, deps.settings, displayName, room._id, async (names) => {
    await assertNoUserNamed(deps, names.name);
    return updateRoom(deps, state, { $set: { ...names } });
  });
  const { name, fname } = next.room;
  await updateSubscriptions(deps, next, { name, fname, alert: true });
  const teamId = mainTeamOf(next.room);
  if (teamId && name) await syncTeam(deps, teamId, { name });
  return postSystemMessage(deps, next, user, "r", displayName);
}

/** Sets text field `field` (topic, description, announcement) and posts its message `t`. */
async function setText(
  deps: CommandDeps,
  state: RoomState,
  user: User,
  field: "topic" | "description" | "announcement",
  value: string,
) {
  const current = state.room[field];
  if ((!value && !current) || value === current) return state;
  const next = await updateRoom(deps, state, { $set: { [field]: value } });
  return postSystemMessage(deps, next, user, `room_changed_${field}`, value);
}

/**
 * Makes the room public (`c`) or private (`p`) and posts `room_changed_privacy`.
 *
 * Limitation: someone who was reading a public channel's messages stream without being a
 * member keeps receiving it after the channel turns private, until they resubscribe or
 * reconnect, because no list of such listeners exists to tell them.
 */
async function setType(deps: CommandDeps, state: RoomState, user: User, type: string) {
  if (type === state.room.t) return state;
  const next = await updateRoom(deps, state, { $set: { t: type } });
  await updateSubscriptions(deps, next, { t: type });
  const teamId = mainTeamOf(next.room);
  if (teamId) await syncTeam(deps, teamId, { type: type === "p" ? 1 : 0 });
  return postSystemMessage(
    deps,
    next,
    user,
    "room_changed_privacy",
    type === "c" ? "public" : "private",
  );
}

/** Sets `field` to `value` and, when it changed, posts `on` or `off`. */
async function setFlag(
  deps: CommandDeps,
  state: RoomState,
  user: User,
  field: "ro" | "reactWhenReadOnly",
  value: boolean,
  messages: readonly [on: string, off: string],
) {
  if (value === state.room[field]) return state;
  const next = await updateRoom(deps, state, { $set: { [field]: value } });
  return postSystemMessage(deps, next, user, value ? messages[0] : messages[1], "");
}

/** A join code, or none for an empty one; `joinCodeRequired` tells clients which. */
function joinCodeUpdate(code: string) {
  return code.trim() === ""
    ? { $set: { joinCodeRequired: false }, $unset: { joinCode: "" } }
    : { $set: { joinCodeRequired: true, joinCode: code } };
}

/** Applies the settings without system messages of their own, in one write of the room. */
async function setQuietly(deps: CommandDeps, state: RoomState, patch: RoomSettingsPatch) {
  let next = state;
  if (patch.joinCode !== undefined)
    next = await updateRoom(deps, next, joinCodeUpdate(patch.joinCode));
  const set: Record<string, unknown> = {};
  if (patch.default !== undefined) set.default = patch.default;
  if (patch.featured !== undefined) set.featured = patch.featured;
  if (patch.systemMessages !== undefined) set.sysMes = [...patch.systemMessages];
  if (patch.roomCustomFields !== undefined) set.customFields = patch.roomCustomFields;
  const fav = patch.favorite;
  const favorite =
    fav === undefined ? undefined : fav.favorite === true && fav.defaultValue === true;
  if (favorite === true) set.favorite = true;
  if (Object.keys(set).length > 0 || favorite === false) {
    next = await updateRoom(deps, next, {
      $set: set,
      ...(favorite === false && { $unset: { favorite: "" } }),
    });
  }
  if (patch.roomCustomFields !== undefined) {
    await updateSubscriptions(deps, next, { customFields: patch.roomCustomFields });
  }
  return next;
}

/**
 * Saves `patch` as `user`, as Rocket.Chat's saveRoomSettings: every permission and value
 * is checked first (see assertMayApply), then the rename (which may still find its name
 * taken) and the other changes, each announced as Rocket.Chat does.
 */
export async function saveSettings(
  deps: CommandDeps,
  state: RoomState,
  user: User,
  patch: RoomSettingsPatch,
): Outcome {
  await assertMayApply(deps.authz, state.room, user, patch);
  let next = state;
  if (patch.roomName !== undefined) next = await rename(deps, next, user, patch.roomName);
  if (patch.roomTopic !== undefined)
    next = await setText(deps, next, user, "topic", patch.roomTopic);
  if (patch.roomAnnouncement !== undefined) {
    next = await setText(deps, next, user, "announcement", patch.roomAnnouncement);
  }
  if (patch.roomDescription !== undefined) {
    next = await setText(deps, next, user, "description", patch.roomDescription);
  }
  if (patch.roomType !== undefined) next = await setType(deps, next, user, patch.roomType);
  if (patch.readOnly !== undefined) {
    const messages = ["room-set-read-only", "room-removed-read-only"] as const;
    next = await setFlag(deps, next, user, "ro", patch.readOnly, messages);
  }
  if (patch.reactWhenReadOnly !== undefined) {
    const messages = ["room-allowed-reacting", "room-disallowed-reacting"] as const;
    next = await setFlag(deps, next, user, "reactWhenReadOnly", patch.reactWhenReadOnly, messages);
  }
  next = await setQuietly(deps, next, patch);
  const subscriptionsChanged =
    patch.roomName !== undefined ||
    patch.roomType !== undefined ||
    patch.roomCustomFields !== undefined;
  await announceRoom(deps, next, subscriptionsChanged);
  return { state: next, reply: next.room };
}

/**
 * Archives the room, as Rocket.Chat's archiveRoom: not a direct message
 * (`error-direct-message-room`), and only with `archive-room` (`error-not-authorized`).
 * Every subscription is archived and closed; posts `room-archived`.
 */
export async function archive(deps: CommandDeps, state: RoomState, user: User): Outcome {
  const details = { method: "archiveRoom" };
  if (state.room.t === "d") {
    throw new ClientError("error-direct-message-room", "rooms type: d can not be archived", {
      details,
    });
  }
  if (!(await deps.authz.can(user, "archive-room", state.room._id))) {
    throw new ClientError("error-not-authorized", "Not authorized", { details });
  }
  let next = await updateRoom(deps, state, { $set: { archived: true } });
  await updateSubscriptions(deps, next, { archived: true, open: false, alert: false });
  next = await postSystemMessage(deps, next, user, "room-archived", "");
  await announceRoom(deps, next, true);
  return { state: next, reply: next.room };
}

/**
 * Unarchives the room, as Rocket.Chat's unarchiveRoom: only with `unarchive-room`
 * (`error-not-authorized`). Every subscription is unarchived and opened; posts
 * `room-unarchived`.
 */
export async function unarchive(deps: CommandDeps, state: RoomState, user: User): Outcome {
  if (!(await deps.authz.can(user, "unarchive-room", state.room._id))) {
    throw new ClientError("error-not-authorized", "Not authorized", {
      details: { method: "unarchiveRoom" },
    });
  }
  let next = await updateRoom(deps, state, { $set: { archived: false } });
  await updateSubscriptions(deps, next, { archived: false, open: true, alert: false });
  next = await postSystemMessage(deps, next, user, "room-unarchived", "");
  await announceRoom(deps, next, true);
  return { state: next, reply: next.room };
}

export const roomSettingsHandlers: CommandHandlers<RoomSettingsCommand> = {
  "settings.save": (deps, state, c) => saveSettings(deps, state, c.user, c.patch),
  "settings.archive": (deps, state, c) => archive(deps, state, c.user),
  "settings.unarchive": (deps, state, c) => unarchive(deps, state, c.user),
};
