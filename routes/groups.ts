/**
 * `groups.*`: private groups. A group is invisible to those who may not read it: every
 * read answers a non-member exactly as for a group that does not exist, and writes by a
 * non-member fail before anything about the group is revealed. Membership changes go
 * through the room's actor. The routes are built in `room-routes.ts` from `GROUP_ROUTES`.
 */
import { Elysia, t } from "elysia";
import { ClientError } from "../core/errors.ts";
import type { Room, User } from "../core/models.ts";
import type { Logger } from "../core/logger.ts";
import type { Services } from "../services/index.ts";
import type { RoomRef } from "../services/rooms.ts";
import { requireOneOf } from "./room-params.ts";
import { createRoute, membershipRoutes, type RoomRoutesSpec, sharedReads } from "./room-routes.ts";
import { GROUPS, ROOM_REF, USER_REF } from "./room-scope.ts";
import { ok } from "./http.ts";

const NOT_FOUND = 'The required "roomId" or "roomName" param provided does not match any group';

/**
 * The group `ref` names, for a caller who can read it or holds `permission` (to add to or
 * remove from any private group); whoever can do neither learns nothing of it.
 */
async function managedGroup(services: Services, ref: RoomRef, me: User, permission: string) {
  const room: Room = await services.rooms.find(ref, ["p"]);
  const mayAnywhere = await services.authz.can(me, permission);
  if (!mayAnywhere && !(await services.authz.canAccessRoom(room, me))) {
    throw new ClientError("error-room-not-found", NOT_FOUND);
  }
  return room;
}

/**
 * How `groups.*` finds and checks its rooms: every read goes through `findGroup`, which
 * answers a group the caller cannot read as a missing one.
 *
 * Limitation: `extraData` of groups.create (encrypted, teamId, …) is accepted but ignored,
 * so an end-to-end encrypted or team group is created as a plain private group.
 */
const GROUP_ROUTES: RoomRoutesSpec = {
  kind: GROUPS,
  type: "p",
  listKey: "groups",
  joinedPath: "list",
  summaries: {
    info: "A private group's record, for its members",
    joined: "The private groups the caller belongs to",
    history: "A private group's messages, newest first, before `latest`",
    messages: "A page of a private group's messages, with filters",
    members: "A page of a private group's active members",
    create: "Create a private group (permission create-p)",
    invite: "Add users to a private group",
    kick: "Remove a user from a private group",
  },
  infoRoom: (services, ref, me) => services.rooms.findGroup(ref, me),
  historyRoom: (services, ref, me) => services.rooms.findGroup(ref, me),
  // groups.history counts 20 by default and shows thread replies unless told not to.
  // Unlike Rocket.Chat, a larger `count` is capped at API_Upper_Count_Limit here.
  historyDefaults: { countDefault: 20, threadsByDefault: true },
  messagesRef: ROOM_REF,
  messagesRoom(services, ref, me) {
    requireOneOf(ref, ["roomId", "roomName"]);
    return services.rooms.findGroup(ref, me);
  },
  membersRoom: (services, ref, me) => services.rooms.findGroup(ref, me, true),
  createExtraData: t.Record(t.String(), t.Unknown()),
  mayCreate: async () => {},
  nameRequired: () =>
    new ClientError("error-invalid-params", 'Body param "name" is required', { plain: true }),
  inviteRoom: (services, ref, me) => managedGroup(services, ref, me, "add-user-to-any-p-room"),
  emptyInvite: () =>
    new ClientError("error-empty-invite-list", "Cannot invite if no valid users are provided"),
  kickUserRef: USER_REF,
  kickRoom: (services, ref, me) => managedGroup(services, ref, me, "kick-user-from-any-p-room"),
  kickAnswer: async () => ok(),
};

/** The private group routes. */
export function groupsRoutes(services: Services, log: Logger) {
  const reads = sharedReads(services, log, GROUP_ROUTES);
  return new Elysia()
    .use(reads.info)
    .use(reads.rest)
    .use(createRoute(services, log, GROUP_ROUTES))
    .use(membershipRoutes(services, log, GROUP_ROUTES));
}
