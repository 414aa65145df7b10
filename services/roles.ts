/**
 * Who holds which global role: giving a user a role, taking it back (announced as
 * `roles-change` on `stream-notify-logged`), and listing the holders of a role, globally
 * or in one room.
 *
 * Limitation: roles are given and taken here only globally (roles of scope `Users`); a
 * request naming a room or a room role is refused, so a client changes owners, moderators
 * and leaders with `channels.addOwner` and its siblings instead.
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

function globalOnly(role: Role, roomId: string | undefined): void {
  if (roomId || role.scope !== "Users") {
    throw new ClientError(
      "error-action-not-allowed",
      `Role ${role._id} can only be changed globally here`,
    );
  }
}

function announce(services: Services, type: "added" | "removed", role: Role, user: User): void {
  if (services.settings.get<boolean>("UI_DisplayRoles") === false) return;
  const u = { _id: user._id, username: user.username };
  services.deps.hub.emit("stream-notify-logged", "roles-change", [{ type, _id: role._id, u }]);
}

/**
 * Gives `user` global role `role` as `by`, who needs `access-permissions` (and
 * `assign-admin-role` for `admin`). Throws `error-user-already-in-role` when held.
 */
export async function addUserToRole(
  services: Services,
  by: User,
  role: Role,
  user: User,
  roomId?: string,
): Promise<void> {
  globalOnly(role, roomId);
  if (user.roles.includes(role._id)) {
    throw new ClientError("error-user-already-in-role", "User already in role");
  }
  if (role._id === "admin" && !(await services.authz.can(by, "assign-admin-role"))) {
    throw new ClientError("error-action-not-allowed", "Assigning admin is not allowed");
  }
  await services.deps.db.users.updateOne(
    { _id: user._id },
    { $addToSet: { roles: role._id }, $set: { _updatedAt: services.deps.clock.now() } },
  );
  announce(services, "added", role, user);
}

/**
 * Takes global role `role` from `user`. Throws `error-user-not-in-role` when not held and
 * `error-admin-required` for the last administrator.
 */
export async function removeUserFromRole(
  services: Services,
  role: Role,
  user: User,
  roomId?: string,
): Promise<void> {
  globalOnly(role, roomId);
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
  announce(services, "removed", role, user);
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
 * The holders of `roleId` (in room `roomId` when given), by username, one page of them,
 * with how many there are in all.
 */
export async function usersInRole(
  services: Services,
  roleId: string,
  roomId: string | undefined,
  page: { count: number; offset: number },
): Promise<{ users: Partial<User>[]; total: number }> {
  const { users, subscriptions } = services.deps.db;
  let filter: Record<string, unknown> = { roles: roleId };
  if (roomId) {
    const subs = await subscriptions.find(
      { rid: roomId, roles: roleId },
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

/** The DDP method `getUserRoles` (`[]`): the holders of public roles, for logged-in callers. */
export const ROLE_METHODS: Record<string, MethodDef> = {
  getUserRoles: signedIn(async (services, caller) => {
    return usersInPublicRoles(services);
  }),
};
