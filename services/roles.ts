/**
 * Who holds which role: giving a user a role and taking it back, globally (on the user)
 * or in a room (on the member's subscription, for roles of scope `Subscriptions`),
 * announced as `roles-change` on `stream-notify-logged`; and listing the holders of a
 * role, globally or in one room, and of the public roles.
 */
import { ClientError } from "../core/errors.ts";
import type { Role, User } from "../core/models.ts";
import type { Services } from "./index.ts";
import { type MethodDef, signedIn } from "./method-params.ts";

/** Names a role by id or, as older clients do, by name. */
export interface RoleRef {
  readonly roleId?: string;
  readonly roleName?: string;
}

/** The role named by `ref`, or null. */
export async function findRole(services: Services, ref: RoleRef): Promise<Role | null> {
  const { roles } = services.deps.db;
  if (ref.roleId) return roles.findOne({ _id: ref.roleId });
  if (ref.roleName) return roles.findOne({ name: ref.roleName });
  return null;
}

function announce(
  services: Services,
  type: "added" | "removed",
  role: Role,
  user: User,
  scope: string | undefined,
): void {
  if (services.settings.get<boolean>("UI_DisplayRoles") === false) return;
  const u = { _id: user._id, username: user.username };
  const event = { type, _id: role._id, u, ...(scope !== undefined && { scope }) };
  services.deps.hub.emit("stream-notify-logged", "roles-change", [event]);
}

/**
 * A room role (scope `Subscriptions`) given or taken in room `roomId` by its room actor.
 * Throws `error-invalid-user` ("User is not part of given room") for a room that does not
 * exist, as for a user who is not in it, and Rocket.Chat's `error-invalid-arguments` for
 * a room role named without a room.
 */
async function changeInRoom(
  services: Services,
  role: Role,
  user: User,
  roomId: string | undefined,
  add: boolean,
): Promise<void> {
  if (!roomId) {
    throw new ClientError("error-invalid-arguments", `Role ${role._id} is held in a room`);
  }
  const room = await services.deps.db.rooms.findOne({ _id: roomId }, { projection: { _id: 1 } });
  if (!room) {
    if (!add) throw new ClientError("error-user-not-in-role", "User is not in this role");
    throw new ClientError("error-invalid-user", "User is not part of given room", {
      details: { method: "authorization:addUserToRole" },
    });
  }
  await services.deps.rooms.execute(room._id, { kind: "role.assign", user, role: role._id, add });
}

/**
 * Gives `user` role `role` as `by`, who needs `access-permissions` (and
 * `assign-admin-role` for `admin`): on the user for a global role (`roomId`, if any, only
 * scopes the announcement, as in Rocket.Chat), on the user's subscription to `roomId` for a
 * room role. Throws `error-user-already-in-role` when held.
 */
export async function addUserToRole(
  services: Services,
  by: User,
  role: Role,
  user: User,
  roomId?: string,
): Promise<void> {
  if (role._id === "admin" && !(await services.authz.can(by, "assign-admin-role"))) {
    throw new ClientError("error-action-not-allowed", "Assigning admin is not allowed");
  }
  if (role.scope === "Subscriptions") return changeInRoom(services, role, user, roomId, true);
  if (user.roles.includes(role._id)) {
    throw new ClientError("error-user-already-in-role", "User already in role");
  }
  await services.deps.db.users.updateOne(
    { _id: user._id },
    { $addToSet: { roles: role._id }, $set: { _updatedAt: services.deps.clock.now() } },
  );
  announce(services, "added", role, user, roomId);
}

/**
 * Takes role `role` from `user`: from the user for a global role, from the user's
 * subscription to `roomId` for a room role. Throws `error-user-not-in-role` when not held
 * and `error-admin-required` for the last administrator.
 */
export async function removeUserFromRole(
  services: Services,
  role: Role,
  user: User,
  roomId?: string,
): Promise<void> {
  if (role.scope === "Subscriptions") return changeInRoom(services, role, user, roomId, false);
  const { users } = services.deps.db;
  if (!user.roles.includes(role._id)) {
    throw new ClientError("error-user-not-in-role", "User is not in this role");
  }
  if (role._id === "admin" && (await users.countDocuments({ roles: "admin" })) === 1) {
    throw new ClientError("error-admin-required", "You need to have at least one admin");
  }
  await users.updateOne(
    { _id: user._id },
    { $pull: { roles: role._id }, $set: { _updatedAt: services.deps.clock.now() } },
  );
  announce(services, "removed", role, user, roomId);
}

/** What `roles.getUsersInRole` shows of a user. */
const USER_FIELDS = {
  _id: 1,
  name: 1,
  username: 1,
  emails: 1,
  avatarETag: 1,
  createdAt: 1,
  _updatedAt: 1,
} as const;

/**
 * The holders of `role`, by username, one page of them, with how many there are in all:
 * for a room role the members holding it in room `roomId` (in any room without one), for
 * a global role the users holding it (whatever `roomId` says, as in Rocket.Chat).
 */
export async function usersInRole(
  services: Services,
  role: Pick<Role, "_id" | "scope">,
  roomId: string | undefined,
  page: { count: number; offset: number },
): Promise<{ users: Partial<User>[]; total: number }> {
  const { users, subscriptions } = services.deps.db;
  let filter: Record<string, unknown> = { roles: role._id };
  if (role.scope === "Subscriptions") {
    const subs = await subscriptions.find(
      { roles: role._id, ...(roomId !== undefined && { rid: roomId }) },
      { projection: { "u._id": 1 } },
    );
    filter = { _id: { $in: subs.map((s) => s.u._id) } };
  }
  const total = await users.countDocuments(filter);
  const found = await users.find(filter, {
    sort: { username: 1 },
    skip: page.offset,
    limit: page.count,
    projection: USER_FIELDS,
  });
  return { users: found, total };
}

/**
 * The holders of public roles (global roles with a description), by username, each with
 * only their public roles: what clients show beside names.
 */
export async function usersInPublicRoles(
  services: Services,
): Promise<{ _id: string; username: string; roles: string[] }[]> {
  const { roles, users } = services.deps.db;
  const described = await roles.find(
    { scope: "Users" },
    { projection: { _id: 1, description: 1 } },
  );
  const ids = described.filter((r) => r.description).map((r) => r._id);
  if (ids.length === 0) return [];
  const holders = await users.find(
    { roles: { $in: ids } },
    { sort: { username: 1 }, projection: { _id: 1, username: 1, roles: 1 } },
  );
  return holders.map((u) => ({
    _id: u._id,
    username: u.username,
    roles: u.roles.filter((r) => ids.includes(r)),
  }));
}

/**
 * The DDP method `getUserRoles` (`[]`): the holders of public roles, for logged-in
 * callers; the same list as `roles.getUsersInPublicRoles`.
 */
export const ROLE_METHODS: Record<string, MethodDef> = {
  getUserRoles: signedIn(async (services, caller) => {
    return usersInPublicRoles(services);
  }),
};
