/**
 * The DDP methods that create rooms and change who is in them, with Rocket.Chat's
 * parameters and answers: creating a channel or group answers the room with `rid` and
 * `inserted`, a direct message answers the room under `rid` without `_id`, joining and
 * membership changes answer `true`, leaving answers nothing. Changes to an existing room
 * go through its room actor.
 */
import { ClientError } from "../core/errors.ts";
import type { Room, User } from "../core/models.ts";
import type { Services } from "./index.ts";
import {
  matchFailed,
  obj,
  optionalStr,
  str,
  type MethodDef,
  signedIn,
  type UserMethod,
} from "./method-params.ts";
import { roomView } from "./rooms.ts";

async function roomFor(services: Services, rid: string, method: string): Promise<Room> {
  const room = await services.rooms.byId(rid);
  if (!room) throw new ClientError("error-invalid-room", "Invalid room", { details: { method } });
  return room;
}

async function userByUsername(services: Services, username: string, method: string): Promise<User> {
  const user = await services.deps.db.users.findOne({ username: username.replace(/^@/, "") });
  if (!user)
    throw new ClientError("error-user-not-found", "User not found", { details: { method } });
  return user;
}

function createRoom(type: "c" | "p"): UserMethod {
  return async (services, caller, params) => {
    const owner = caller.user;
    const [name, members = [], readOnly = false, customFields] = params;
    if (!Array.isArray(members) || typeof readOnly !== "boolean") throw matchFailed();
    const room = await services.rooms.create({
      type,
      name: str(name),
      owner,
      members: members.map(str),
      readOnly,
      ...(customFields !== undefined &&
        customFields !== null && { customFields: obj(customFields) }),
    });
    return { rid: room._id, inserted: true, ...roomView(room) };
  };
}

/** Room creation and membership methods, by name. */
export const ROOM_METHODS: Record<string, MethodDef> = {
  createChannel: signedIn(createRoom("c")),
  createPrivateGroup: signedIn(createRoom("p")),
  createDirectMessage: signedIn(async (services, caller, params) => {
    const user = caller.user;
    const { _id, ...room } = roomView(await services.rooms.createDirect(user, params.map(str)));
    return { t: "d", rid: _id, ...room };
  }),
  joinRoom: signedIn(async (services, caller, [rid, joinCode]) => {
    const user = caller.user;
    const room = await roomFor(services, str(rid), "joinRoom");
    const code = optionalStr(joinCode);
    const command = { kind: "join", user, ...(code !== undefined && { joinCode: code }) } as const;
    await services.deps.rooms.execute(room._id, command);
    return true;
  }),
  leaveRoom: signedIn(async (services, caller, [rid]) => {
    const user = caller.user;
    const room = await roomFor(services, str(rid), "leaveRoom");
    await services.deps.rooms.execute(room._id, { kind: "leave", user });
    return undefined;
  }),
  addUsersToRoom: signedIn(async (services, caller, [data]) => {
    const by = caller.user;
    const { rid, users } = obj(data);
    const room = await roomFor(services, typeof rid === "string" ? rid : "", "addUsersToRoom");
    if (!Array.isArray(users)) {
      const details = { method: "addUsersToRoom" };
      throw new ClientError("error-invalid-arguments", "Invalid arguments", { details });
    }
    const added = await Promise.all(
      users.map((u) => userByUsername(services, str(u), "addUsersToRoom")),
    );
    await services.deps.rooms.execute(room._id, { kind: "add", by, users: added });
    return true;
  }),
  removeUserFromRoom: signedIn(async (services, caller, [data]) => {
    const by = caller.user;
    const { rid, username } = obj(data);
    const room = await services.rooms.byId(str(rid));
    if (!room) {
      throw new ClientError("error-not-allowed", "Not allowed", {
        details: { method: "removeUserFromRoom" },
      });
    }
    const user = await userByUsername(services, str(username), "removeUserFromRoom");
    await services.deps.rooms.execute(room._id, { kind: "remove", by, user });
    return true;
  }),
};
