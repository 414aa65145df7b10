/**
 * `roles.list` (every role), `roles.sync` (the roles changed after `updatedSince`),
 * `roles.addUserToRole` and `roles.removeUserFromRole` (a global role on the user, or a
 * room role on the user's subscription to `roomId`, for holders of `access-permissions`),
 * `roles.getUsersInRole` (the holders of a role, paged) and `roles.getUsersInPublicRoles`
 * (the holders of roles shown beside names).
 */
import { Elysia, t } from "elysia";
import { ClientError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { Role } from "../core/models.ts";
import type { Services } from "../services/index.ts";
import {
  addUserToRole,
  findRole,
  type RoleRef,
  removeUserFromRole,
  usersInPublicRoles,
  usersInRole,
} from "../services/roles.ts";
import { apiBase, json, ok, pagination } from "./http.ts";
import { updatedSinceOf } from "./permissions.ts";
import { userFromParams } from "./room-params.ts";

const CHANGE_BODY = t.Object({
  roleId: t.Optional(t.String()),
  roleName: t.Optional(t.String()),
  username: t.String(),
  roomId: t.Optional(t.String()),
  scope: t.Optional(t.String()),
});

/** The role a change names, or Rocket.Chat's bare 400 when none is named or found. */
async function roleOrFailure(services: Services, ref: RoleRef) {
  if (!ref.roleId && !ref.roleName) {
    return json(400, { success: false, error: "error-invalid-role-properties" });
  }
  const role = await findRole(services, ref);
  // Rocket.Chat swaps the two fields of this answer; clients compare them as they are.
  if (!role) {
    return json(400, {
      success: false,
      error: "error-role-not-found",
      errorType: "Role not found",
    });
  }
  return role;
}

/** A role as `roles.list` shows it: everything but its update time. */
function listed({ _updatedAt: _, ...role }: Role): Omit<Role, "_updatedAt"> {
  return role;
}

/** The role routes. */
export function rolesRoutes(services: Services, log: Logger) {
  const { db } = services.deps;
  return new Elysia({ prefix: "/api/v1" })
    .use(apiBase(services, log))
    .get(
      "/roles.list",
      async ({ me }) => {
        me;
        return ok({ roles: (await db.roles.find({}, { sort: { _id: 1 } })).map(listed) });
      },
      { access: true, detail: { summary: "Every role", tags: ["Roles"] } },
    )
    .get(
      "/roles.sync",
      async ({ me, query }) => {
        me;
        const since = updatedSinceOf(query.updatedSince);
        if (!since) return ok({ roles: { update: [], remove: [] } });
        const update = await db.roles.find({ _updatedAt: { $gt: since } }, { sort: { _id: 1 } });
        // Parley never deletes a role, so nothing is ever removed.
        return ok({ roles: { update, remove: [] } });
      },
      {
        access: true,
        query: t.Object({ updatedSince: t.String() }),
        detail: { summary: "The roles changed since a date", tags: ["Roles"] },
      },
    )
    .post(
      "/roles.addUserToRole",
      async ({ me, body }) => {
        if (!(await services.authz.can(me, "access-permissions"))) {
          throw new ClientError("error-action-not-allowed", "Accessing permissions is not allowed");
        }
        const target = await userFromParams(services, body);
        const role = await roleOrFailure(services, body);
        if (role instanceof Response) return role;
        await addUserToRole(services, me, role, target, body.roomId);
        return ok({ role });
      },
      {
        access: true,
        body: CHANGE_BODY,
        detail: { summary: "Give a user a role", tags: ["Roles"] },
      },
    )
    .post(
      "/roles.removeUserFromRole",
      async ({ body }) => {
        const [target] = await services.accounts.usersByUsernamesIgnoringCase([body.username]);
        if (!target) {
          throw new ClientError("error-invalid-user", "There is no user with this username");
        }
        if (!body.roleId && !body.roleName) {
          return json(400, { success: false, error: "error-invalid-role-properties" });
        }
        const role = await findRole(services, body);
        if (!role) throw new ClientError("error-invalid-roleId", "This role does not exist");
        await removeUserFromRole(services, role, target, body.scope ?? body.roomId);
        return ok({ role });
      },
      {
        access: { permissions: ["access-permissions"] },
        body: CHANGE_BODY,
        detail: { summary: "Take a role from a user", tags: ["Roles"] },
      },
    )
    .get(
      "/roles.getUsersInRole",
      async ({ me, query }) => {
        const page = pagination(services, query);
        if (!query.role) {
          throw new ClientError("error-param-not-provided", 'Query param "role" is required');
        }
        if (query.roomId && !(await services.authz.can(me, "view-other-user-channels"))) {
          throw new ClientError("error-not-allowed", "Not allowed");
        }
        const role = await db.roles.findOne(
          { _id: query.role },
          { projection: { _id: 1, scope: 1 } },
        );
        if (!role) throw new ClientError("error-invalid-roleId");
        return ok(await usersInRole(services, role, query.roomId, page));
      },
      {
        access: { permissions: ["access-permissions"] },
        query: t.Object({
          role: t.Optional(t.String()),
          roomId: t.Optional(t.String()),
          count: t.Optional(t.String()),
          offset: t.Optional(t.String()),
        }),
        detail: { summary: "The users holding a role, globally or in a room", tags: ["Roles"] },
      },
    )
    .get(
      "/roles.getUsersInPublicRoles",
      async () => ok({ users: await usersInPublicRoles(services) }),
      {
        access: true,
        detail: {
          summary: "The holders of public roles (global roles with a description)",
          tags: ["Roles"],
        },
      },
    );
}
