/**
 * The DDP methods that manage a room, with Rocket.Chat's names, parameters and answers:
 * `saveRoomSettings` answers `{result: true, rid}`; `archiveRoom` and `unarchiveRoom`
 * answer nothing; `eraseRoom` and the role methods (`addRoomOwner`, …) answer `true`;
 * `getRoomRoles` answers the members holding room roles; `cleanRoomHistory` answers how
 * many messages went. Every change runs in the room's actor.
 */
import { ClientError } from "../core/errors.ts";
import type { Room, Subscription, User } from "../core/models.ts";
import type { Services } from "./index.ts";
import {
  matchFailed,
  obj,
  str,
  type MethodDef,
  signedIn,
  type SignedInCaller,
} from "./method-params.ts";
import { cleanRoomHistory, eraseRoom } from "./room-lifecycle.ts";
import { ROOM_ROLES, type RoomRole, roleMethodName } from "./room-role-commands.ts";
import { parseRoomSettings } from "./room-settings-rules.ts";

async function roomFor(services: Services, rid: string, method: string): Promise<Room> {
  const room = await services.rooms.byId(rid);
  if (!room) throw new ClientError("error-invalid-room", "Invalid room", { details: { method } });
  return room;
}

/**
 * The members of room `rid` holding a room role, by username, as Rocket.Chat's
 * getRoomRoles answers them: `{_id, rid, u, roles}`, with each user's current name when
 * `UI_Use_Real_Name` is on. Throws `error-invalid-room` for a missing room and
 * `error-invalid-user` for a caller who may not read it.
 */
export async function roomRoles(
  services: Services,
  user: User,
  rid: string,
): Promise<Pick<Subscription, "_id" | "rid" | "u" | "roles">[]> {
  const room = await roomFor(services, rid, "getRoomRoles");
  if (!(await services.authz.canAccessRoom(room, user))) {
    throw new ClientError("error-invalid-user", "Invalid user", {
      details: { method: "getRoomRoles" },
    });
  }
  const subs = await services.deps.db.subscriptions.find(
    { rid, roles: { $in: [...ROOM_ROLES] } },
    { sort: { "u.username": 1 }, projection: { rid: 1, u: 1, roles: 1 } },
  );
  if (services.settings.get<boolean>("UI_Use_Real_Name") !== true) return subs;
  const users = await services.accounts.usersByIds(subs.map((s) => s.u._id));
  const names = new Map(users.map((u) => [u._id, u.name]));
  return subs.map((s) => ({
    ...s,
    u: { ...s.u, ...(names.has(s.u._id) && { name: names.get(s.u._id) }) },
  }));
}

/**
 * Changes `userId`'s role in room `rid` as `by` (see the `role.change` command). Throws
 * `error-invalid-room` for a missing room and `error-invalid-user` for a missing user.
 */
export async function changeRoomRole(
  services: Services,
  by: User,
  rid: string,
  userId: string,
  role: RoomRole,
  add: boolean,
): Promise<true> {
  const method = roleMethodName(role, add);
  const room = await roomFor(services, rid, method);
  const [user] = await services.accounts.usersByIds([userId]);
  if (!user?.username) {
    throw new ClientError("error-invalid-user", "Invalid user", { details: { method } });
  }
  await services.deps.rooms.execute(room._id, { kind: "role.change", by, user, role, add });
  return true;
}

function roleMethod(role: RoomRole, add: boolean): MethodDef {
  return signedIn(async (services, caller, [rid, userId]) => {
    return changeRoomRole(services, caller.user, str(rid), str(userId), role, add);
  });
}

/** Rocket.Chat's check of cleanRoomHistory's parameters: a Date, a Boolean, … or Match failed. */
function optional<T>(value: unknown, is: (v: unknown) => v is T, fallback: T): T {
  if (value === undefined || value === null) return fallback;
  if (!is(value)) throw matchFailed();
  return value;
}

const isBoolean = (v: unknown): v is boolean => typeof v === "boolean";
const isCount = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;
const isNames = (v: unknown): v is string[] =>
  Array.isArray(v) && v.length <= 1000 && v.every((n) => typeof n === "string");
const isDate = (v: unknown): v is Date => v instanceof Date && !Number.isNaN(v.getTime());

async function cleanRoomHistoryMethod(
  services: Services,
  caller: SignedInCaller,
  params: readonly unknown[],
) {
  const p = obj(params[0]);
  const rid = str(p.roomId);
  if (!isDate(p.latest) || !isDate(p.oldest)) throw matchFailed();
  const options = {
    latest: p.latest,
    oldest: p.oldest,
    inclusive: optional(p.inclusive, isBoolean, true),
    limit: optional(p.limit, isCount, 0),
    excludePinned: optional(p.excludePinned, isBoolean, false),
    // Unlike rooms.cleanHistory, the method keeps discussions and threads unless told.
    ignoreDiscussion: optional(p.ignoreDiscussion, isBoolean, true),
    filesOnly: optional(p.filesOnly, isBoolean, false),
    fromUsers: optional(p.fromUsers, isNames, []),
    ignoreThreads: optional(p.ignoreThreads, isBoolean, true),
  };
  return cleanRoomHistory(services.deps, caller.user, rid, options);
}

/** The room-management methods, by name. */
export const ROOM_SETTINGS_METHODS: Record<string, MethodDef> = {
  saveRoomSettings: signedIn(async (services, caller, [rid, settings, value]) => {
    const user = caller.user;
    if (typeof rid !== "string") {
      throw new ClientError("error-invalid-room", "Invalid room", {
        details: { method: "saveRoomSettings" },
      });
    }
    const raw = typeof settings === "string" ? { [settings]: value } : obj(settings);
    const patch = parseRoomSettings(raw, services.settings);
    const room = await roomFor(services, rid, "saveRoomSettings");
    await services.deps.rooms.execute(room._id, { kind: "settings.save", user, patch });
    return { result: true, rid: room._id };
  }),
  archiveRoom: signedIn(async (services, caller, [rid]) => {
    const user = caller.user;
    const room = await roomFor(services, str(rid), "archiveRoom");
    await services.deps.rooms.execute(room._id, { kind: "settings.archive", user });
    return undefined;
  }),
  unarchiveRoom: signedIn(async (services, caller, [rid]) => {
    const user = caller.user;
    const room = await roomFor(services, str(rid), "unarchiveRoom");
    await services.deps.rooms.execute(room._id, { kind: "settings.unarchive", user });
    return undefined;
  }),
  eraseRoom: signedIn(async (services, caller, [rid]) => {
    const room = str(rid);
    const user = caller.user;
    await eraseRoom(services, user, room);
    return true;
  }),
  getRoomRoles: signedIn(async (services, caller, [rid]) => {
    const room = str(rid);
    const user = caller.user;
    return roomRoles(services, user, room);
  }),
  addRoomOwner: roleMethod("owner", true),
  removeRoomOwner: roleMethod("owner", false),
  addRoomModerator: roleMethod("moderator", true),
  removeRoomModerator: roleMethod("moderator", false),
  addRoomLeader: roleMethod("leader", true),
  removeRoomLeader: roleMethod("leader", false),
  cleanRoomHistory: signedIn(cleanRoomHistoryMethod),
};
