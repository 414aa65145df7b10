/**
 * The role routes of `channels.*` and `groups.*`, built once for both prefixes: `roles`
 * lists the members holding room roles, and `addOwner`, `removeOwner`, `addModerator`,
 * `removeModerator`, `addLeader` and `removeLeader` change one member's role through the
 * room's actor. The member is named by `userId`, `username` or `user`.
 */
import { Elysia, t } from "elysia";
import type { Logger } from "../core/logger.ts";
import type { Services } from "../services/index.ts";
import type { RoomRole } from "../services/room-role-commands.ts";
import { changeRoomRole, roomRoles } from "../services/room-settings-methods.ts";
import { apiBase, ok } from "./http.ts";
import { requireOneOf, userFromParams } from "./room-params.ts";
import { CHANNELS, GROUPS, pathOf, ROOM_REF, type RoomKind, USER_REF } from "./room-scope.ts";

const ROUTES: readonly { readonly name: string; readonly role: RoomRole; readonly add: boolean }[] =
  [
    { name: "addOwner", role: "owner", add: true },
    { name: "removeOwner", role: "owner", add: false },
    { name: "addModerator", role: "moderator", add: true },
    { name: "removeModerator", role: "moderator", add: false },
    { name: "addLeader", role: "leader", add: true },
    { name: "removeLeader", role: "leader", add: false },
  ];

/** One role-change route of `kind`. */
function changeRoute(services: Services, log: Logger, kind: RoomKind, route: (typeof ROUTES)[0]) {
  const verb = route.add ? "Make a member" : "Stop a member being";
  return new Elysia({ prefix: "/api/v1" }).use(apiBase(services, log)).post(
    pathOf(kind, route.name),
    async ({ me, body }) => {
      const room = await kind.find(services, body, me, true);
      const target = await userFromParams(services, body);
      await changeRoomRole(services, me, room._id, target._id, route.role, route.add);
      return ok();
    },
    {
      access: true,
      body: t.Object({ ...ROOM_REF, ...USER_REF }),
      detail: { summary: `${verb} ${route.role} of a ${kind.noun}`, tags: kind.tags },
    },
  );
}

/** `roles`: `{roles: [{_id, rid, u, roles}]}`, by username. */
function rolesRoute(services: Services, log: Logger, kind: RoomKind) {
  return new Elysia({ prefix: "/api/v1" }).use(apiBase(services, log)).get(
    pathOf(kind, "roles"),
    async ({ me, query }) => {
      if (kind === CHANNELS) requireOneOf(query, ["roomId", "roomName"]);
      const room = await kind.find(services, query, me, true);
      return ok({ roles: await roomRoles(services, me, room._id) });
    },
    {
      access: true,
      query: t.Object(ROOM_REF),
      detail: { summary: `The members holding roles in a ${kind.noun}`, tags: kind.tags },
    },
  );
}

/** The role routes of one prefix. */
function kindRoutes(services: Services, log: Logger, kind: RoomKind) {
  const app = new Elysia().use(rolesRoute(services, log, kind));
  // Elysia adds the routes to `app` itself; its return value only refines the type.
  for (const route of ROUTES) app.use(changeRoute(services, log, kind, route));
  return app;
}

/** The role routes of `channels.*` and `groups.*`. */
export function roomRoleRoutes(services: Services, log: Logger) {
  return new Elysia()
    .use(kindRoutes(services, log, CHANNELS))
    .use(kindRoutes(services, log, GROUPS));
}
